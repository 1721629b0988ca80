import DataLoader from 'dataloader';
import type { MaterializationView } from '../services/assets/asset-views';
import type { Loaders } from './index';

/** Materializations by id, one statement per batch. */
export const materializationByIdLoader = (loaders: Loaders): DataLoader<string, MaterializationView | null> =>
  loaders.get(
    'materializationById',
    (services, tenantId) =>
      new DataLoader<string, MaterializationView | null>(async (ids) => {
        const found = await services.materializations.byIds(tenantId, ids);
        return ids.map((id) => found.get(id) ?? null);
      }),
  );
