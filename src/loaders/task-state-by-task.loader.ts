import DataLoader from 'dataloader';
import type { StateEntry } from '../state/backends/state-backend';
import type { Loaders } from './index';

/** The loader's key for one task of one DAG. */
export const taskStateKey = (dagId: string, taskId: string): string => `${dagId}\u0000${taskId}`;

/**
 * `Job.taskState`: the entries of each task's latest try, one backend round per batch
 * (one SQL statement on the Postgres backend), keyed by `taskStateKey(dagId, taskId)`.
 */
export function taskStateByTask(loaders: Loaders): DataLoader<string, StateEntry[]> {
  return loaders.get(
    'taskStateByTask',
    (services, tenantId) =>
      new DataLoader<string, StateEntry[]>(async (keys) => {
        const tasks = keys.map((k) => {
          const at = k.indexOf('\u0000');
          return { dagId: k.slice(0, at), taskId: k.slice(at + 1) };
        });
        return services.taskState.listLatestForTasks(tenantId, tasks);
      }),
  );
}
