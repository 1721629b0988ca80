import DataLoader from 'dataloader';
import type { LineageRefView } from '../services/assets/asset-views';
import type { Loaders } from './index';

/** The lineage refs each materialization recorded, with the materialization behind each. */
export const materializationUpstreamLoader = (loaders: Loaders): DataLoader<string, LineageRefView[]> =>
  loaders.get(
    'materializationUpstream',
    (services, tenantId) =>
      new DataLoader<string, LineageRefView[]>(async (ids) => {
        const refs = await services.materializations.upstreamRefs(tenantId, ids);
        return ids.map((id) => refs.get(id) ?? []);
      }),
  );
