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

/** Cache hits and the executor seconds they saved, fleet-wide (read at each scrape). */
export interface CacheCounts {
  readonly hits: number;
  readonly savedSeconds: number;
}

/**
 * `cache` reads the fleet's cache totals (Postgres, once per scrape, shared by both
 * counters): hits are committed by workers, so the api's own process counts none.
 */
export function createMetrics(enabledDefaults = true, cache?: () => Promise<CacheCounts>): Metrics {
  const registry = new Registry();
  let scrape: Promise<CacheCounts> | null = null;
  let last: CacheCounts = { hits: 0, savedSeconds: 0 };
  const totals = async (): Promise<CacheCounts> => {
    if (!cache) return last;
    // Both counters of one scrape share one read; Postgres away: the last totals read.
    scrape ??= cache()
      .then((c) => (last = c))
      .catch(() => last)
      .finally(() => setImmediate(() => (scrape = null)));
    return scrape;
  };
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
      help: 'Attempts completed from the cache (CACHED) by every worker, without an executor call',
      registers: [registry],
      async collect() {
        const { hits } = await totals();
        this.reset();
        this.inc(hits);
      },
    }),
    cacheSavedSeconds: new Counter({
      name: 'marie_cache_saved_seconds_total',
      help: "Executor seconds that cache hits saved, fleet-wide (the sources' run times)",
      registers: [registry],
      async collect() {
        const { savedSeconds } = await totals();
        this.reset();
        this.inc(savedSeconds);
      },
    }),
  };
}
