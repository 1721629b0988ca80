import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/db/group-commit';
import type { AttemptRef } from '../src/services/engine/attempt.service';
import { dagSnapshot, submitDag } from './support/dag-helpers';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Issue 18: group-committed starts and completions add counter deltas instead of writing
 * the DAG row; the DAG row changes when the DAG's own state does (activation, its end)
 * and when the deltas are folded into it. Reads stay exact throughout.
 */
describe('GroupCommit with several flushes in flight', () => {
  it('runs up to maxInFlight flushes at once; what arrives meanwhile waits and goes together', async () => {
    const batches: number[][] = [];
    const gates: Array<() => void> = [];
    const gc = new GroupCommit<number, number>(
      async (items) => {
        batches.push(items);
        await new Promise<void>((r) => gates.push(r));
        return items.map((i) => ({ ok: true as const, value: i }));
      },
      256,
      2,
    );
    const all = [1, 2, 3, 4, 5].map((i) => gc.submit(i));
    expect(batches).toEqual([[1], [2]]); // two in flight at once, each taken as it came
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(batches).toEqual([[1], [2], [3, 4, 5]]); // a slot freed: the rest went together
    while (gates.length) gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    gates.shift()?.();
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5]);
    await gc.idle();
    expect(gc.stats).toEqual({ flushes: 3, items: 5 });
  });
});

describe('DAG counters without a DAG-row write per transition', () => {
  let t: TestApp;
  let key: string;
  let tenantId: string;

  beforeAll(async () => {
    // No scheduler role: nothing compacts the deltas behind the test's back.
    t = await startTestApp({ roles: ['api'] });
    const k = await t.tenant('submitter');
    key = k.key;
    tenantId = k.tenantId;
  }, 30_000);
  afterAll(async () => {
    await t?.stop();
  });

  const rawRow = async (dagId: string) =>
    (
      await t.app.services.ds.query(
        `SELECT state, n_pending, n_active, n_completed FROM dags WHERE tenant_id = $1 AND id = $2`,
        [tenantId, dagId],
      )
    )[0] as { state: string; n_pending: number; n_active: number; n_completed: number };
  const deltaRows = async (dagId: string): Promise<number> =>
    (
      await t.app.services.ds.query(
        `SELECT count(*)::int AS n FROM dag_progress_deltas WHERE tenant_id = $1 AND dag_id = $2`,
        [tenantId, dagId],
      )
    )[0].n;
  const jobsOf = async (dagId: string) =>
    t.app.services.ds.query<Array<{ id: string; task_id: string; try_number: number; dispatch: number }>>(
      `SELECT id, task_id, try_number, dispatch FROM jobs WHERE tenant_id = $1 AND dag_id = $2 ORDER BY task_id`,
      [tenantId, dagId],
    );
  const dagEvents = async (dagId: string) =>
    (
      await t.app.services.ds.query<Array<{ payload: { state: string; progress: Record<string, number> } }>>(
        `SELECT payload FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND type = 'DAG' ORDER BY id, ord`,
        [tenantId, dagId],
      )
    ).map((r) => r.payload);

  async function startAll(dagId: string, taskIds: string[]): Promise<Map<string, AttemptRef>> {
    const engine = t.app.services.attempts;
    const rows = (await jobsOf(dagId)).filter((r) => taskIds.includes(r.task_id));
    const refs = new Map<string, AttemptRef>();
    const started = await Promise.all(
      rows.map((r) => engine.startAttempt(r.id, r.try_number, r.dispatch, `w-${r.task_id}`)),
    );
    for (const s of started) {
      expect(s).not.toBeNull();
      refs.set(s!.taskId, {
        jobId: s!.jobId,
        tryNumber: s!.tryNumber,
        dispatch: s!.dispatch,
        workerId: `w-${s!.taskId}`,
      });
    }
    return refs;
  }

  it('leaves the DAG row alone while jobs run, reads exact progress, and settles the end at the last commit', async () => {
    const dagId = `dp-${randomUUID()}`;
    const roots = Array.from({ length: 10 }, (_, i) => ({ id: `r${i}`, name: 'root', executor: 'noop' }));
    const sink = { id: 'sink', name: 'sink', executor: 'noop', dependencies: roots.map((r) => r.id) };
    await submitDag(t, key, { id: dagId, name: 'progress', jobs: [...roots, sink] });
    await t.app.services.jobCommands.settled();

    const refs = await startAll(
      dagId,
      roots.map((r) => r.id),
    );
    // The row changed state (CREATED → ACTIVE), not its counters: those are deltas.
    expect(await rawRow(dagId)).toMatchObject({ state: 'ACTIVE', n_pending: 11, n_active: 0, n_completed: 0 });
    expect((await dagSnapshot(t, key, dagId)).progress).toMatchObject({ pending: 1, active: 10, completed: 0 });

    const engine = t.app.services.attempts;
    await Promise.all(roots.map((r) => engine.completeAttempt(refs.get(r.id)!, { ok: r.id })));
    expect(await rawRow(dagId)).toMatchObject({ state: 'ACTIVE', n_pending: 11, n_completed: 0 });
    expect(await deltaRows(dagId)).toBeGreaterThan(0);
    expect((await dagSnapshot(t, key, dagId)).progress).toMatchObject({ pending: 1, active: 0, completed: 10 });

    const sinkRef = (await startAll(dagId, ['sink'])).get('sink')!;
    await engine.completeAttempt(sinkRef, { ok: 'sink' });
    // The completion's settle ran before it resolved: the DAG is over, its deltas folded.
    expect(await rawRow(dagId)).toMatchObject({ state: 'COMPLETED', n_pending: 0, n_active: 0, n_completed: 11 });
    expect(await deltaRows(dagId)).toBe(0);
    const events = await dagEvents(dagId);
    expect(events.map((e) => e.state)).toEqual(['CREATED', 'ACTIVE', 'COMPLETED']);
    // ACTIVE carries what its batch saw: its own starts (the first batch may hold only one).
    const atActive = events[1].progress;
    expect(atActive).toMatchObject({ total: 11, completed: 0 });
    expect(atActive.active).toBeGreaterThanOrEqual(1);
    expect(atActive.pending + atActive.active).toBe(11);
    expect(events[2].progress).toMatchObject({ total: 11, pending: 0, active: 0, completed: 11, percent: 100 });
  });

  it('the compaction folds deltas and finishes a DAG whose last batch committed but never settled', async () => {
    const dagId = `dp-${randomUUID()}`;
    await submitDag(t, key, { id: dagId, name: 'lost-settle', jobs: [{ id: 'only', name: 'only', executor: 'noop' }] });
    await t.app.services.jobCommands.settled();
    const ref = (await startAll(dagId, ['only'])).get('only')!;
    // What a worker that died between its batch's commit and the settle leaves behind:
    // the job COMPLETED with its delta, the DAG still ACTIVE.
    await t.app.services.ds.transaction(async (m) => {
      await m.query(`UPDATE jobs SET state = 'COMPLETED', completed_at = now(), lease_owner = NULL WHERE id = $1`, [
        ref.jobId,
      ]);
      await m.query(
        `INSERT INTO dag_progress_deltas (tenant_id, dag_id, d_active, d_completed) VALUES ($1, $2, -1, 1)`,
        [tenantId, dagId],
      );
    });
    expect(await rawRow(dagId)).toMatchObject({ state: 'ACTIVE' });
    expect((await dagSnapshot(t, key, dagId)).progress).toMatchObject({ active: 0, completed: 1 });

    expect(await t.app.services.jobCommands.compactProgress()).toBeGreaterThanOrEqual(1);
    expect(await rawRow(dagId)).toMatchObject({ state: 'COMPLETED', n_pending: 0, n_active: 0, n_completed: 1 });
    expect(await deltaRows(dagId)).toBe(0);
    expect((await dagEvents(dagId)).map((e) => e.state)).toEqual(['CREATED', 'ACTIVE', 'COMPLETED']);
  });
});
