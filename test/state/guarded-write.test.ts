import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseGuard, PostgresAttemptGuard } from '../../src/state/attempt-guard';
import { submitDag } from '../support/dag-helpers';
import { codeOf, startTestApp, type TestApp } from '../support/test-app';

describe('a guarded state write on Postgres', () => {
  let t: TestApp;
  let tenantId: string;
  let dagId: string;

  const stored = async (key: string): Promise<unknown[]> =>
    t.app.services.ds.query(`SELECT value_json FROM task_state WHERE tenant_id = $1 AND dag_id = $2 AND key = $3`, [
      tenantId,
      dagId,
      key,
    ]);
  const context = () =>
    t.app.services.taskState.runContextFor(
      { tenantId, dagName: 'guarded', dagId, taskId: 'a', tryNumber: 1 },
      new PostgresAttemptGuard(t.app.services.ds),
    );

  beforeAll(async () => {
    // No worker: the test sets the job's state itself.
    t = await startTestApp({ roles: ['api'] });
    const k = await t.tenant('submitter');
    tenantId = k.tenantId;
    dagId = `guarded-${randomUUID()}`;
    await submitDag(t, k.key, { id: dagId, name: 'guarded', jobs: [{ id: 'a', name: 'a', executor: 'noop' }] });
    // submitDag's after-commit effects (dispatch, the unhosted-executor check) issue statements
    // of their own: let them finish before anything is counted.
    await t.app.services.jobCommands.settled();
    await t.app.services.ds.query(
      `UPDATE jobs SET state = 'ACTIVE', lease_owner = 'w1' WHERE tenant_id = $1 AND dag_id = $2`,
      [tenantId, dagId],
    );
  }, 30_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('checks the attempt and writes in one statement', async () => {
    const ctx = context();
    const before = t.app.services.sql.total;
    await ctx.set('ONE', { n: 1 });
    expect(t.app.services.sql.total - before).toBe(1);
    expect(await stored('ONE')).toEqual([{ value_json: { n: 1 } }]);
  });

  it('a worker’s lease guard folds in the same way: its own dispatch writes, another dispatch or worker cannot', async () => {
    const [job]: Array<{ id: string; dispatch: number }> = await t.app.services.ds.query(
      `SELECT id, dispatch FROM jobs WHERE tenant_id = $1 AND dag_id = $2`,
      [tenantId, dagId],
    );
    const ti = { tenantId, dagName: 'guarded', dagId, taskId: 'a', tryNumber: 1 };
    const as = (dispatch: number, workerId: string) =>
      t.app.services.taskState.runContextFor(
        ti,
        leaseGuard(t.app.services.ds, { jobId: job.id, tryNumber: 1, dispatch, workerId }),
      );
    const before = t.app.services.sql.total;
    await as(job.dispatch, 'w1').set('LEASED', 1);
    expect(t.app.services.sql.total - before).toBe(1);
    await expect(as(job.dispatch + 1, 'w1').set('OLD', 1)).rejects.toMatchObject({
      details: { reason: 'STALE_ATTEMPT' },
    });
    await expect(as(job.dispatch, 'w2').set('OTHER', 1)).rejects.toMatchObject({
      details: { reason: 'STALE_ATTEMPT' },
    });
    expect(await stored('LEASED')).toEqual([{ value_json: 1 }]);
    expect([...(await stored('OLD')), ...(await stored('OTHER'))]).toEqual([]);
  });

  it('cannot write once the job has moved on, even when the move commits while the write waits', async () => {
    const ctx = context();
    const qr = t.app.services.ds.createQueryRunner();
    await qr.connect();
    try {
      // Another transaction is completing the job: row locked, state changed, not yet committed.
      await qr.startTransaction();
      await qr.query(`UPDATE jobs SET state = 'COMPLETED' WHERE tenant_id = $1 AND dag_id = $2`, [tenantId, dagId]);
      const write = ctx.set('LATE', 'too late').then(
        () => 'written',
        (err: unknown) => err,
      );
      await new Promise((r) => setTimeout(r, 200));
      await qr.commitTransaction();
      const outcome = await write;
      // A check and a write in two statements would have seen ACTIVE and written.
      expect(outcome).not.toBe('written');
      expect(outcome).toMatchObject({ code: 'CONFLICT', details: { reason: 'STALE_ATTEMPT' } });
    } finally {
      if (qr.isTransactionActive) await qr.rollbackTransaction();
      await qr.release();
    }
    expect(await stored('LATE')).toEqual([]);
  });

  it('refuses setTaskState for a job that is not ACTIVE with CONFLICT, and stores nothing', async () => {
    const exec = await t.app.services.apiKeys.create(tenantId, 'exec', 'executor');
    const res = await t.gql(
      `mutation ($d: ID!) { setTaskState(input: { dagId: $d, taskId: "a", tryNumber: 1, key: "API", value: 1 }) { key } }`,
      { d: dagId },
      exec.key,
    );
    expect(codeOf(res)).toBe('CONFLICT');
    expect(await stored('API')).toEqual([]);
  });
});
