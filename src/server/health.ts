import type express from 'express';
import type { Services } from '../services/process-services';
import type { Metrics } from './metrics';
import { storesReady } from './outage';

/**
 * Probes and scraping, without a key: /healthz (the process answers), /readyz (503 while
 * PostgreSQL or Redis is away) and /metrics (Prometheus).
 */
export function installHealthRoutes(app: express.Express, services: Services, metrics: Metrics): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'up' });
  });
  app.get('/readyz', async (_req, res) => {
    const up = await storesReady(services);
    res.status(up ? 200 : 503).json({ status: up ? 'up' : 'down' });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
}
