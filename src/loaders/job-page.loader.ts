import DataLoader from 'dataloader';
import type { Loaders } from '.';
import type { ConnectionView } from '../lib/pagination';
import type { JobPageKey, JobRow } from '../services/dag.service';

/** `Dag.jobPage(...)` of every DAG in the answer, each with its own arguments: one statement per batch. */
export const jobPageLoader = (loaders: Loaders): DataLoader<JobPageKey, ConnectionView<JobRow>, string> =>
  loaders.get(
    'jobPage',
    (s, tenantId) =>
      new DataLoader<JobPageKey, ConnectionView<JobRow>, string>((keys) => s.dags.jobPages(tenantId, keys), {
        cacheKeyFn: (k) => JSON.stringify([k.dagId, k.first, k.after, k.level, k.executor, k.state]),
      }),
  );
