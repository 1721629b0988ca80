import express from 'express';
import type { Services } from '../services/process-services';
import { OlInvalid, validateBody } from '../services/openlineage/ol-validate';
import { assertAllowed } from '../core/policy';
import { bearer } from './auth';
import { sendRestError } from './rest-errors';

/** The most events one batch may hold. */
export const OL_BATCH_MAX = 1_000;

/**
 * OpenLineage ingest, at the paths clients already use for Marquez: POST /api/v1/lineage
 * (one event) and POST /api/v1/lineage/batch (an array). Executor role; the key's tenant
 * owns what is stored; 201 when stored. A body that is not JSON, or not an object (an
 * array for a batch), is 400; an event the specification refuses is 422 with the JSON
 * path of the fault (`{ error: { code, message, path } }`), and nothing is stored.
 */
export function installOpenLineageRoutes(app: express.Express, services: Services): void {
  const body = express.text({ type: () => true, limit: services.config.httpBodyLimit });
  const handle =
    (batch: boolean) =>
    async (req: express.Request, res: express.Response): Promise<void> => {
      try {
        const principal = assertAllowed(
          await services.apiKeys.authenticate(bearer(req.headers.authorization)),
          'lineage.ingest',
        );
        let parsed: unknown;
        try {
          parsed = JSON.parse(typeof req.body === 'string' ? req.body : '');
        } catch {
          throw new OlInvalid(400, '$', 'the body is not JSON');
        }
        const events = validateBody(parsed, batch, OL_BATCH_MAX);
        const stored = await services.openLineage.ingest(principal.tenantId, events);
        res.status(201).json({ stored });
      } catch (err) {
        if (err instanceof OlInvalid) {
          const code = err.status === 400 ? 'BAD_REQUEST' : 'UNPROCESSABLE_ENTITY';
          res.status(err.status).json({ error: { code, message: err.message, path: err.path } });
          return;
        }
        sendRestError(res, err, services.log, 'openlineage ingest failed');
      }
    };
  app.post('/api/v1/lineage', body, handle(false));
  app.post('/api/v1/lineage/batch', body, handle(true));
}
