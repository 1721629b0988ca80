import DataLoader from 'dataloader';
import type { Loaders } from '.';
import type { JobAttempt } from '../schema/job.type';
import { AttemptOutcome } from '../schema/dag.type';

/** Every attempt of each job, oldest first, one statement per batch. */
export const jobAttemptsLoader = (loaders: Loaders): DataLoader<string, JobAttempt[]> =>
  loaders.get(
    'jobAttempts',
    (s, tenantId) =>
      new DataLoader<string, JobAttempt[]>(async (jobIds) => {
        const rows = await s.dags.attempts(tenantId, jobIds);
        const by = new Map<string, JobAttempt[]>(jobIds.map((j) => [j, []]));
        for (const r of rows) {
          by.get(r.job_id)?.push({
            tryNumber: r.try_number,
            outcome: r.outcome as AttemptOutcome,
            workerId: r.worker_id,
            startedAt: r.started_at,
            finishedAt: r.finished_at,
            error: r.error,
          });
        }
        return jobIds.map((j) => by.get(j) ?? []);
      }),
  );
