import { randomUUID } from 'node:crypto';
import type { ExecutorInvoker } from '../../src/core/executor-call';
import { submitDag, waitFor } from './dag-helpers';
import type { TestApp } from './test-app';

/**
 * An executor whose calls stay ACTIVE until released (or cancelled), so a test can write
 * as the current attempt of a real job.
 */
export function holdingExecutor(name = 'hold'): { invoker: ExecutorInvoker; releaseAll(): void } {
  const waiting = new Set<() => void>();
  return {
    invoker: {
      name,
      concurrency: 16,
      async invoke(_data, ctx) {
        await new Promise<void>((resolve) => {
          waiting.add(resolve);
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        return null;
      },
    },
    releaseAll() {
      for (const r of waiting) r();
      waiting.clear();
    },
  };
}

export interface HeldJob {
  dagId: string;
  taskId: string;
  /** The global Job.id. */
  jobId: string;
  tryNumber: number;
}

/** Submit a one-job DAG on the holding executor and wait until its job is ACTIVE. */
export async function activeJob(t: TestApp, key: string, executor = 'hold'): Promise<HeldJob> {
  const dagId = `held-${randomUUID()}`;
  await submitDag(t, key, { id: dagId, name: 'held', jobs: [{ id: 'a', name: 'a', executor }] });
  return waitFor(
    async () => {
      const res = await t.gql<{ job: { id: string; state: string; tryNumber: number } | null }>(
        `query ($d: ID!) { job(dagId: $d, taskId: "a") { id state tryNumber } }`,
        { d: dagId },
        key,
      );
      const job = res.data?.job;
      return job?.state === 'ACTIVE' ? { dagId, taskId: 'a', jobId: job.id, tryNumber: job.tryNumber } : null;
    },
    15_000,
    `job of ${dagId} to be ACTIVE`,
  );
}

/** Rows a tenant holds in the tables bad input could reach. */
export async function rowCounts(t: TestApp, tenantId: string): Promise<Record<string, number>> {
  const tables = ['dags', 'jobs', 'assets', 'materializations', 'materialization_lineage', 'asset_edges', 'task_state'];
  const rows: Array<Record<string, number>> = await t.app.services.ds.query(
    `SELECT ${tables.map((tb) => `(SELECT count(*)::int FROM ${tb} WHERE tenant_id::text = $1) AS ${tb}`).join(', ')}`,
    [tenantId],
  );
  return rows[0];
}
