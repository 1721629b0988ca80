import DataLoader from 'dataloader';
import type { ConnectionView } from '../lib/pagination';
import type { MaterializationView } from '../services/assets/asset-views';
import type { Loaders } from './index';

export interface DownstreamPageKey {
  id: string;
  first: number;
  after: string | null;
}

/** `Materialization.downstream(...)` pages of many materializations in one statement. */
export const materializationDownstreamLoader = (
  loaders: Loaders,
): DataLoader<DownstreamPageKey, ConnectionView<MaterializationView>, string> =>
  loaders.get(
    'materializationDownstream',
    (services, tenantId) =>
      new DataLoader<DownstreamPageKey, ConnectionView<MaterializationView>, string>(
        (keys) => services.materializations.downstreamPages(tenantId, keys),
        { cacheKeyFn: (k) => JSON.stringify([k.id, k.first, k.after]) },
      ),
  );
