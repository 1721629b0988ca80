import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { ExecutorInvoker } from '../src/core/executor-call';
import { submitDag, waitForDag } from './support/dag-helpers';
import { startTestApp } from './support/test-app';

// An executor of its own (one at a time): no other test's worker consumes its queue.
it('runs ready jobs by priority, higher first', async () => {
  const api = await startTestApp({ roles: ['api', 'scheduler'] });
  try {
    const { key: k, tenantId: tid } = await api.tenant('submitter');
    const id = `prio-${randomUUID()}`;
    const executor = `prio-${randomUUID().slice(0, 8)}`;
    const one: ExecutorInvoker = { name: executor, concurrency: 1, invoke: async () => null };
    const prios = [0, 500, 1000, 10, 999, 250];
    await submitDag(api, k, {
      id,
      name: 'prio',
      jobs: prios.map((p) => ({ id: `p${p}`, name: 'p', executor, priority: p })),
    });
    const worker = await startTestApp({ roles: ['worker'], executors: [one] });
    try {
      await waitForDag(api, k, id, ['COMPLETED'], 20_000);
    } finally {
      await worker.stop();
    }
    const order: Array<{ task_id: string }> = await api.app.services.ds.query(
      `SELECT task_id FROM jobs WHERE tenant_id = $1 AND dag_id = $2 ORDER BY started_at`,
      [tid, id],
    );
    expect(order.map((r) => r.task_id)).toEqual([...prios].sort((a, b) => b - a).map((p) => `p${p}`));
  } finally {
    await api.stop();
  }
});
