import DataLoader from 'dataloader';
import type { AssetView } from '../services/assets/asset-views';
import type { Loaders } from './index';

/** Assets by key, one statement per batch. */
export const assetByKeyLoader = (loaders: Loaders): DataLoader<string, AssetView | null> =>
  loaders.get(
    'assetByKey',
    (services, tenantId) =>
      new DataLoader<string, AssetView | null>(async (keys) => {
        const found = await services.assets.byKeys(tenantId, keys);
        return keys.map((k) => found.get(k) ?? null);
      }),
  );
