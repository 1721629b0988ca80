import { timingSafeEqual } from 'node:crypto';
import type express from 'express';
import type { Services } from '../services/process-services';
import type { Metrics } from './metrics';
import { storesReady } from './outage';

/** `Authorization: Bearer <token>` carries exactly `token`. */
function bearerIs(header: string, token: string): boolean {
  const m = /^Bearer (.+)$/i.exec(header.trim());
  const given = Buffer.from(m?.[1] ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * Probes and scraping, without a key: /healthz (the process answers), /readyz (503 while
 * PostgreSQL or Redis is away) and /metrics (Prometheus: aggregates only). With
 * METRICS_TOKEN set, a scrape that presents it (`Authorization: Bearer`) also gets the
 * per-tenant gauges; one that presents anything else is refused (401), so a mistyped
 * secret in a scrape config shows as a target down rather than as missing series.
 */
export function installHealthRoutes(app: express.Express, services: Services, metrics: Metrics): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'up' });
  });
  app.get('/readyz', async (_req, res) => {
    const up = await storesReady(services);
    res.status(up ? 200 : 503).json({ status: up ? 'up' : 'down' });
  });
  app.get('/metrics', async (req, res) => {
    const token = services.config.metricsToken;
    const auth = req.headers.authorization;
    const operator = token !== undefined && auth !== undefined;
    if (operator && !bearerIs(auth, token)) {
      res.status(401).setHeader('www-authenticate', 'Bearer realm="metrics"').json({ error: 'invalid metrics token' });
      return;
    }
    res.setHeader('content-type', metrics.registry.contentType);
    const text = await metrics.registry.metrics();
    res.send(operator ? `${text}\n${await metrics.tenantRegistry.metrics()}` : text);
  });
}
