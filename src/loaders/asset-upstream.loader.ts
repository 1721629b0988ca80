import DataLoader from 'dataloader';
import type { AssetView } from '../services/assets/asset-views';
import type { Loaders } from './index';

/** Direct inputs of each asset over the asset edge table. */
export const assetUpstreamLoader = (loaders: Loaders): DataLoader<string, AssetView[]> =>
  loaders.get(
    'assetUpstream',
    (services, tenantId) =>
      new DataLoader<string, AssetView[]>((keys) => services.assets.neighbours(tenantId, keys, 'up')),
  );
