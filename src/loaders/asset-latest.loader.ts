import DataLoader from 'dataloader';
import type { MaterializationView } from '../services/assets/asset-views';
import type { Loaders } from './index';

export interface LatestKey {
  assetKey: string;
  /** null: the asset's latest across partitions. */
  partitionKey: string | null;
}

/** The latest materialization of an asset, or of one of its partitions. */
export const assetLatestLoader = (loaders: Loaders): DataLoader<LatestKey, MaterializationView | null, string> =>
  loaders.get(
    'assetLatest',
    (services, tenantId) =>
      new DataLoader<LatestKey, MaterializationView | null, string>(
        (keys) => services.materializations.latest(tenantId, keys),
        { cacheKeyFn: (k) => `${k.assetKey}\u0000${k.partitionKey ?? '\u0001'}` },
      ),
  );
