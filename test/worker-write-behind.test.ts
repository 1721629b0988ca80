import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { expect, inject, it } from 'vitest';
import type { ExecutorInvoker } from '../src/core/executor-call';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * A worker slot does not wait for its completion's commit (issue 18): once the handler has
 * returned, the slot takes the next job while the completion commits behind it. At most as
 * many completions of an executor wait for their commit as it runs jobs at once; a stopping
 * worker reports them before it leaves. Each completion is held at its commit by a row lock
 * the test takes on the job's row while the handler runs.
 */

// No lease renewal while a row is held (each would wait on the lock, holding a pooled connection).
const LONG_LEASE = { LEASE_MS: '30000', HEARTBEAT_MS: '10000', GROUP_COMMIT_IN_FLIGHT: '3' };

/** An executor (one job at a time) whose calls, until `release`, return once the test has locked that job's row. */
function lockingExecutor() {
  const calls: string[] = [];
  const locks: Client[] = [];
  let holding = true;
  const inv: ExecutorInvoker = {
    name: `wb-${randomUUID().slice(0, 8)}`,
    concurrency: 1,
    async invoke(_data, ctx) {
      calls.push(ctx.taskId);
      if (!holding) return { ok: ctx.taskId };
      const c = new Client({ connectionString: inject('databaseUrl') });
      await c.connect();
      await c.query('BEGIN');
      await c.query('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [ctx.jobId]);
      locks.push(c);
      return { ok: ctx.taskId };
    },
  };
  const release = async () => {
    holding = false;
    for (const c of locks.splice(0)) {
      await c.query('ROLLBACK');
      await c.end();
    }
  };
  return { inv, calls, release };
}

/** Completions (of this database) waiting on a row lock. */
async function lockWaiters(t: TestApp): Promise<number> {
  const rows: Array<{ n: number }> = await t.app.services.ds.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%COMPLETED%'`,
  );
  return rows[0].n;
}

it('takes the next job while the last completion commits, and holds a slot past one waiting completion', async () => {
  const ex = lockingExecutor();
  const t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], env: LONG_LEASE, executors: [ex.inv] });
  try {
    const { key } = await t.tenant('submitter');
    const id = `wb-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'write-behind',
      jobs: ['a', 'b', 'c'].map((j) => ({ id: j, name: j, executor: ex.inv.name })),
    });
    // The first call's completion waits on its row lock; the slot has already taken the
    // second job (concurrency 1: before, the slot waited for the commit, and this timed out).
    await waitFor(async () => ex.calls.length >= 2, 10_000, 'a second call while the first completion waits');
    await waitFor(async () => (await lockWaiters(t)) === 2, 10_000, 'both completions waiting on their row locks');
    // Two completions wait now: the slot waits for the first of them, so the third job is
    // not taken (the bound). Nothing else can let it run: give it the time to show.
    await new Promise((r) => setTimeout(r, 500));
    expect(ex.calls).toHaveLength(2);
    await ex.release();
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 20_000);
    expect(d.state).toBe('COMPLETED');
    expect(d.jobs.map((j) => [j.taskId, j.state, j.attempts.length]).sort()).toEqual([
      ['a', 'COMPLETED', 1],
      ['b', 'COMPLETED', 1],
      ['c', 'COMPLETED', 1],
    ]);
    expect([...ex.calls].sort()).toEqual(['a', 'b', 'c']);
  } finally {
    await ex.release();
    await t.stop();
  }
});

it('a stopping worker reports a completion still committing before it leaves', async () => {
  const ex = lockingExecutor();
  const t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], env: LONG_LEASE, executors: [ex.inv] });
  const pg = new Client({ connectionString: inject('databaseUrl') });
  await pg.connect();
  let stopped = false;
  try {
    const { key, tenantId } = await t.tenant('submitter');
    const id = `wb-stop-${randomUUID()}`;
    await submitDag(t, key, { id, name: 'write-behind-stop', jobs: [{ id: 'a', name: 'a', executor: ex.inv.name }] });
    await waitFor(async () => (await lockWaiters(t)) === 1, 10_000, 'the completion waiting on its row lock');
    const stopping = t.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(stopped).toBe(false); // still waiting for the completion to commit
    await ex.release();
    await stopping;
    const { rows } = await pg.query<{ state: string; outcome: string }>(
      `SELECT j.state, a.outcome FROM jobs j JOIN job_attempts a ON a.job_id = j.id
        WHERE j.tenant_id = $1 AND j.dag_id = $2`,
      [tenantId, id],
    );
    expect(rows).toEqual([{ state: 'COMPLETED', outcome: 'SUCCEEDED' }]);
  } finally {
    await ex.release();
    if (!stopped) await t.stop();
    await pg.end();
  }
});
