import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics: aggregates only, never tenant data. One registry per app instance. */
export interface Metrics {
  registry: Registry;
  graphqlRequests: Counter<'type' | 'outcome'>;
  graphqlDuration: Histogram<'type'>;
  wsConnections: Gauge;
}

export function createMetrics(enabledDefaults = true): Metrics {
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
  };
}
