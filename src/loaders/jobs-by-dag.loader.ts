import DataLoader from 'dataloader';
import type { Loaders } from '.';
import type { JobRow } from '../services/dag.service';

/** Every job of each DAG, one statement per batch. */
export const jobsByDagLoader = (loaders: Loaders): DataLoader<string, JobRow[]> =>
  loaders.get(
    'jobsByDag',
    (s, tenantId) =>
      new DataLoader<string, JobRow[]>(async (dagIds) => {
        const rows = await s.dags.jobsOfDags(tenantId, dagIds);
        const by = new Map<string, JobRow[]>(dagIds.map((d) => [d, []]));
        for (const r of rows) by.get(r.dag_id)?.push(r);
        return dagIds.map((d) => by.get(d) ?? []);
      }),
  );
