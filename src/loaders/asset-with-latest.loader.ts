import DataLoader from 'dataloader';
import type { AssetView } from '../services/assets/asset-views';
import { assetByKeyLoader } from './asset-by-key.loader';
import { assetLatestLoader } from './asset-latest.loader';
import type { Loaders } from './index';

/**
 * Assets by key for `Query.asset`, each read with its latest materialization in the same
 * statement: the answer primes the per-request asset and latest loaders, so `asset(key) {
 * latest }` costs one statement, not two. Lists of assets (lineage nodes, materializations'
 * assets) keep assetByKeyLoader, which reads no materialization they may not ask for.
 */
export const assetWithLatestLoader = (loaders: Loaders): DataLoader<string, AssetView | null> =>
  loaders.get(
    'assetWithLatest',
    (services, tenantId) =>
      new DataLoader<string, AssetView | null>(async (keys) => {
        const found = await services.assets.byKeysWithLatest(tenantId, keys);
        const byKey = assetByKeyLoader(loaders);
        const latest = assetLatestLoader(loaders);
        return keys.map((k) => {
          const hit = found.get(k);
          if (!hit) return null;
          // prime() keeps what a loader already holds: an earlier read in this request stays as it was.
          byKey.prime(k, hit.asset);
          latest.prime({ assetKey: k, partitionKey: null }, hit.latest);
          return hit.asset;
        });
      }),
  );
