import DataLoader from 'dataloader';
import type { PartitionView } from '../services/assets/asset.service';
import type { ConnectionView } from '../lib/pagination';
import type { Loaders } from './index';

export interface PartitionPageKey {
  assetKey: string;
  first: number;
  after: string | null;
}

/** `Asset.partitions(...)` pages of many assets in one statement. */
export const assetPartitionsLoader = (
  loaders: Loaders,
): DataLoader<PartitionPageKey, ConnectionView<PartitionView>, string> =>
  loaders.get(
    'assetPartitions',
    (services, tenantId) =>
      new DataLoader<PartitionPageKey, ConnectionView<PartitionView>, string>(
        (keys) => services.assets.partitionPages(tenantId, keys),
        { cacheKeyFn: (k) => JSON.stringify([k.assetKey, k.first, k.after]) },
      ),
  );
