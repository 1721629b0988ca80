import DataLoader from 'dataloader';
import type { AssetView } from '../services/assets/asset-views';
import type { Loaders } from './index';

/** Assets directly derived from each asset, over the asset edge table. */
export const assetDownstreamLoader = (loaders: Loaders): DataLoader<string, AssetView[]> =>
  loaders.get(
    'assetDownstream',
    (services, tenantId) =>
      new DataLoader<string, AssetView[]>((keys) => services.assets.neighbours(tenantId, keys, 'down')),
  );
