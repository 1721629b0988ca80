import DataLoader from 'dataloader';
import type { OlDatasetKey } from '../repositories/openlineage.repository';
import type { Loaders } from './index';

/** The OpenLineage dataset behind each asset (null when it did not come from OpenLineage), one statement per batch. */
export const assetOpenLineageLoader = (loaders: Loaders): DataLoader<string, OlDatasetKey | null> =>
  loaders.get(
    'assetOpenLineage',
    (services, tenantId) =>
      new DataLoader<string, OlDatasetKey | null>(async (keys) => {
        const found = await services.openLineage.datasetsOf(tenantId, keys);
        return keys.map((k) => found.get(k) ?? null);
      }),
  );
