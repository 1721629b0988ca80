import { appendEvents } from '../events/event-log';
import type { ServiceTxHandlers } from './tx-events';

/** Every new materialization appends an ASSET_MATERIALIZED event, in the recording transaction. */
export function registerMaterializedEvents(handlers: ServiceTxHandlers): void {
  handlers.on('materializations.recorded', async (m, { tenantId, created }) => {
    await appendEvents(
      m,
      tenantId,
      created.map((mat) => ({
        type: 'ASSET_MATERIALIZED',
        dagId: mat.dagId,
        payload: { assetKey: mat.assetKey, materializationId: mat.id, dagId: mat.dagId, at: new Date().toISOString() },
      })),
    );
  });
}
