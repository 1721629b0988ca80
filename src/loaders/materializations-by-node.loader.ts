import DataLoader from 'dataloader';
import type { MaterializationView } from '../services/assets/asset-views';
import type { Loaders } from './index';
import { splitNodeKey } from './node-key';

/** Every materialization recorded for a DAG node, keyed `${dagId}\u0000${nodeTaskId}`, oldest first. */
export const materializationsByNodeLoader = (loaders: Loaders): DataLoader<string, MaterializationView[]> =>
  loaders.get(
    'materializationsByNode',
    (services, tenantId) =>
      new DataLoader<string, MaterializationView[]>((keys) =>
        services.materializations.byNodes(tenantId, keys.map(splitNodeKey)),
      ),
  );
