import DataLoader from 'dataloader';
import type { Loaders } from '.';
import type { DagService } from '../services/dag.service';

export type AttemptRow = Awaited<ReturnType<DagService['attempts']>>[number];

/** Every attempt of each job, oldest first, one statement per batch. */
export const jobAttemptsLoader = (loaders: Loaders): DataLoader<string, AttemptRow[]> =>
  loaders.get(
    'jobAttempts',
    (s, tenantId) =>
      new DataLoader<string, AttemptRow[]>(async (jobIds) => {
        const rows = await s.dags.attempts(tenantId, jobIds);
        const by = new Map<string, AttemptRow[]>(jobIds.map((j) => [j, []]));
        for (const r of rows) by.get(r.job_id)?.push(r);
        return jobIds.map((j) => by.get(j) ?? []);
      }),
  );
