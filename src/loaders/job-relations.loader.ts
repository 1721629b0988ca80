import DataLoader from 'dataloader';
import type { Loaders } from '.';
import type { JobRow } from '../services/dag.service';

type Relation = 'dependencies' | 'dependents';

const relationLoader = (loaders: Loaders, relation: Relation): DataLoader<string, JobRow[]> =>
  loaders.get(
    `job-${relation}`,
    (s, tenantId) =>
      new DataLoader<string, JobRow[]>(async (jobIds) => {
        const rows = await s.dags.related(tenantId, jobIds, relation);
        const by = new Map<string, JobRow[]>(jobIds.map((j) => [j, []]));
        for (const r of rows) by.get(r.of)?.push(r);
        return jobIds.map((j) => by.get(j) ?? []);
      }),
  );

/** The jobs each job depends on, one statement per batch. */
export const jobDependenciesLoader = (loaders: Loaders) => relationLoader(loaders, 'dependencies');
/** The jobs that depend on each job, one statement per batch. */
export const jobDependentsLoader = (loaders: Loaders) => relationLoader(loaders, 'dependents');
