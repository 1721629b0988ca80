import DataLoader from 'dataloader';
import type { ConnectionView } from '../lib/pagination';
import type { MaterializationView } from '../services/assets/asset-views';
import type { MaterializationPageKey } from '../services/assets/materialization-pages.service';
import type { Loaders } from './index';

/** `Asset.materializations(...)` pages of many assets in one statement. */
export const assetMaterializationsLoader = (
  loaders: Loaders,
): DataLoader<MaterializationPageKey, ConnectionView<MaterializationView>, string> =>
  loaders.get(
    'assetMaterializations',
    (services, tenantId) =>
      new DataLoader<MaterializationPageKey, ConnectionView<MaterializationView>, string>(
        (keys) => services.materializations.pages(tenantId, keys),
        { cacheKeyFn: (k) => JSON.stringify([k.assetKey, k.first, k.after, k.partitionKey, k.dagId]) },
      ),
  );
