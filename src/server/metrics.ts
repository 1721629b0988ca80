import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics: aggregates only, never tenant data. One registry per app instance. */
export interface Metrics {
  registry: Registry;
  graphqlRequests: Counter<'type' | 'outcome'>;
  graphqlDuration: Histogram<'type'>;
  wsConnections: Gauge;
  cacheHits: Counter;
  cacheSavedSeconds: Counter;
}

/** This process's cache hits and the executor seconds they saved (read at each scrape). */
export interface CacheCounts {
  readonly hits: number;
  readonly savedSeconds: number;
}

export function createMetrics(enabledDefaults = true, cache?: CacheCounts): Metrics {
  const registry = new Registry();
  if (enabledDefaults) collectDefaultMetrics({ register: registry, prefix: 'marie_' });
  return {
    registry,
    graphqlRequests: new Counter({
      name: 'marie_graphql_requests_total',
      help: 'GraphQL operations over HTTP by type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: 'marie_graphql_duration_seconds',
      help: 'GraphQL operation duration over HTTP',
      labelNames: ['type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: 'marie_ws_connections',
      help: 'Open graphql-ws connections',
      registers: [registry],
    }),
    cacheHits: new Counter({
      name: 'marie_cache_hits_total',
      help: 'Attempts completed from the cache (CACHED) by this process, without an executor call',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(cache?.hits ?? 0);
      },
    }),
    cacheSavedSeconds: new Counter({
      name: 'marie_cache_saved_seconds_total',
      help: "Executor seconds that cache hits of this process saved (the sources' run times)",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(cache?.savedSeconds ?? 0);
      },
    }),
  };
}
