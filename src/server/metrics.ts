import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics. `registry`: aggregates only, never tenant data (the public /metrics).
 * `tenantRegistry`: the per-tenant gauges, computed at scrape time, served only to a scrape
 * that presents METRICS_TOKEN. One pair of registries per app instance.
 */
export interface Metrics {
  registry: Registry;
  tenantRegistry: Registry;
  graphqlRequests: Counter<'type' | 'outcome'>;
  graphqlDuration: Histogram<'type'>;
  /** POST /graphql requests the fast path answered (`answered`) or handed to Apollo (`slow`). */
  graphqlFastPath: Counter<'outcome'>;
  /** Query documents the fast path keeps parsed and validated (bounded: see graphql-fast-path.ts). */
  graphqlDocumentsKept: Gauge;
  wsConnections: Gauge;
  cacheHits: Counter;
  cacheSavedSeconds: Counter;
}

/** Cache hits and the executor seconds they saved, fleet-wide (read at each scrape). */
export interface CacheCounts {
  readonly hits: number;
  readonly savedSeconds: number;
}

/** One tenant's counts for the gauges (read from Postgres at each operator scrape). */
export interface TenantGauge {
  tenant: string;
  activeJobs: number;
  /** Ready jobs held back, by the limit that holds them (MAX_ACTIVE, EXECUTOR_CAP, …). */
  throttled: Readonly<Record<string, number>>;
}

function tenantRegistryOf(tenants: (() => Promise<TenantGauge[]>) | undefined): Registry {
  const registry = new Registry();
  // Both gauges of a scrape come from one read (a scrape collects them at once).
  let pending: Promise<TenantGauge[]> | null = null;
  const read = () =>
    (pending ??= (tenants?.() ?? Promise.resolve([])).finally(() => {
      pending = null;
    }));
  new Gauge({
    name: 'marie_tenant_active_jobs',
    help: "A tenant's jobs in flight (ACTIVE, or claimed and not started)",
    labelNames: ['tenant'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of await read()) this.set({ tenant: t.tenant }, t.activeJobs);
    },
  });
  new Gauge({
    name: 'marie_tenant_throttled_jobs',
    help: "A tenant's ready jobs held back now, by the limit that holds them",
    labelNames: ['tenant', 'limit'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of await read())
        for (const [limit, n] of Object.entries(t.throttled))
          this.set({ tenant: t.tenant, limit: limit.toLowerCase() }, n);
    },
  });
  return registry;
}

/**
 * `cache` reads the fleet's cache totals (Postgres, once per scrape, shared by both
 * counters): hits are committed by workers, so the api's own process counts none.
 * `tenants` reads the per-tenant gauges, served only to a scrape with METRICS_TOKEN.
 */
export function createMetrics(
  enabledDefaults = true,
  cache?: () => Promise<CacheCounts>,
  tenants?: () => Promise<TenantGauge[]>,
): Metrics {
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
    tenantRegistry: tenantRegistryOf(tenants),
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
    graphqlFastPath: new Counter({
      name: 'marie_graphql_http_fast_path_total',
      help: 'POST /graphql requests answered straight from node:http (answered) or handed to Express and Apollo (slow)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    graphqlDocumentsKept: new Gauge({
      name: 'marie_graphql_documents_kept',
      help: 'Query documents kept parsed and validated by the POST /graphql fast path (at most 500)',
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
