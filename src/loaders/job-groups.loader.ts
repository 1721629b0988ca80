import DataLoader from 'dataloader';
import type { Loaders } from '.';
import type { JobGroupView } from '../services/dag.service';

/** `Dag.jobGroups` of every DAG in the answer: one grouped statement per batch. */
export const jobGroupsLoader = (loaders: Loaders): DataLoader<string, JobGroupView[]> =>
  loaders.get(
    'jobGroups',
    (s, tenantId) =>
      new DataLoader<string, JobGroupView[]>(async (dagIds) => {
        const by = await s.dags.jobGroups(tenantId, dagIds);
        return dagIds.map((d) => by.get(d) ?? []);
      }),
  );
