import DataLoader from 'dataloader';
import type { StaleReasonView } from '../services/assets/asset-views';
import type { Loaders } from './index';

/** Why each materialization is stale (empty: it is not), one statement per batch. */
export const materializationStalenessLoader = (loaders: Loaders): DataLoader<string, StaleReasonView[]> =>
  loaders.get(
    'materializationStaleness',
    (services, tenantId) =>
      new DataLoader<string, StaleReasonView[]>(async (ids) => {
        const reasons = await services.lineage.staleReasons(tenantId, ids);
        return ids.map((id) => reasons.get(id) ?? []);
      }),
  );
