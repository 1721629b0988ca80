import DataLoader from 'dataloader';
import type { Loaders } from '.';
import type { DagRow } from '../services/dag.service';

/** DAG rows by id, one statement per batch. */
export const dagByIdLoader = (loaders: Loaders): DataLoader<string, DagRow | null> =>
  loaders.get(
    'dagById',
    (s, tenantId) =>
      new DataLoader<string, DagRow | null>(async (ids) => {
        const rows = await s.dags.getMany(tenantId, ids);
        const byId = new Map(rows.map((r) => [r.id, r]));
        return ids.map((id) => byId.get(id) ?? null);
      }),
  );
