import DataLoader from 'dataloader';
import type { NodeAssetStatusView } from '../services/assets/asset-views';
import type { Loaders } from './index';
import { splitNodeKey } from './node-key';

/**
 * Asset status of DAG nodes, keyed `${dagId}\u0000${nodeTaskId}` (see `nodeKey`), one
 * statement per batch. A node with no expectations is complete (100%).
 */
export const nodeAssetStatusLoader = (loaders: Loaders): DataLoader<string, NodeAssetStatusView> =>
  loaders.get(
    'nodeAssetStatus',
    (services, tenantId) =>
      new DataLoader<string, NodeAssetStatusView>(async (keys) => {
        const statuses = await services.nodeStatus.forPairs(tenantId, keys.map(splitNodeKey));
        return statuses.map(({ known: _known, ...s }) => s);
      }),
  );
