import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/db/group-commit';
import type { AttemptRef } from '../src/services/engine/attempt.service';
import { submitDag } from './support/dag-helpers';
import { startTestApp, type TestApp } from './support/test-app';

describe('GroupCommit', () => {
  it('flushes a lone item at once and what arrives meanwhile together, at most maxBatch a time', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gc = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((i) => ({ ok: true as const, value: i * 10 }));
    }, 3);
    const first = gc.submit(1);
    const rest = [2, 3, 4, 5, 6].map((i) => gc.submit(i));
    expect(batches).toEqual([[1]]); // the first went alone, at once
    release();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40, 50, 60]);
    expect(batches).toEqual([[1], [2, 3, 4], [5, 6]]);
    expect(gc.stats).toEqual({ flushes: 3, items: 6 });
  });

  it('settles each item as the flush says, and rejects a whole batch whose flush throws', async () => {
    const gc = new GroupCommit<number, string>(async (items) => {
      if (items.includes(99)) throw new Error('flush broke');
      return items.map((i) =>
        i % 2 ? { ok: true as const, value: `odd ${i}` } : { ok: false as const, error: new Error(`even ${i}`) },
      );
    });
    await expect(gc.submit(1)).resolves.toBe('odd 1');
    await expect(gc.submit(2)).rejects.toThrow('even 2');
    await expect(gc.submit(99)).rejects.toThrow('flush broke');
    await gc.idle();
    await expect(gc.submit(3)).resolves.toBe('odd 3'); // still works after a failed flush
  });
});

describe('group-committed starts and completions (JobEngine)', () => {
  let t: TestApp;
  let tenantId: string;
  let dagId: string;
  const refs = new Map<string, AttemptRef>();

  const jobRows = (): Promise<
    Array<{ id: string; task_id: string; state: string; try_number: number; dispatch: number; pending_deps: number }>
  > =>
    t.app.services.ds.query(
      `SELECT id, task_id, state, try_number, dispatch, pending_deps FROM jobs WHERE tenant_id = $1 AND dag_id = $2`,
      [tenantId, dagId],
    );
  const progress = async (): Promise<Record<string, unknown>> => {
    const rows: Array<Record<string, unknown>> = await t.app.services.ds.query(
      // The row's counters plus the batches' deltas not yet folded into it (issue 18).
      `SELECT d.n_pending + COALESCE(sum(x.d_pending), 0)::int AS n_pending,
              d.n_active + COALESCE(sum(x.d_active), 0)::int AS n_active,
              d.n_completed + COALESCE(sum(x.d_completed), 0)::int AS n_completed, d.state
         FROM dags d LEFT JOIN dag_progress_deltas x ON x.tenant_id = d.tenant_id AND x.dag_id = d.id
        WHERE d.tenant_id = $1 AND d.id = $2 GROUP BY d.tenant_id, d.id`,
      [tenantId, dagId],
    );
    return rows[0];
  };
  const jobEvents = async (state: string): Promise<number> => {
    const rows: Array<{ n: number }> = await t.app.services.ds.query(
      `SELECT count(*)::int AS n FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND type = 'JOB' AND payload->>'state' = $3`,
      [tenantId, dagId, state],
    );
    return rows[0].n;
  };

  beforeAll(async () => {
    // No worker role: the test drives the engine the way a worker's concurrent slots do.
    t = await startTestApp({ roles: ['api'] });
    const k = await t.tenant('submitter');
    tenantId = k.tenantId;
    dagId = `gc-${randomUUID()}`;
    const roots = Array.from({ length: 40 }, (_, i) => ({ id: `r${i}`, name: 'root', executor: 'noop' }));
    const sink = { id: 'sink', name: 'sink', executor: 'noop', dependencies: roots.slice(0, 30).map((r) => r.id) };
    await submitDag(t, k.key, { id: dagId, name: 'group-commit', jobs: [...roots, sink] });
    await t.app.services.jobCommands.settled(); // dispatch is an after-commit effect of submitDag
  }, 30_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('starts 40 jobs in a few transactions; a duplicate delivery and a stale dispatch get nothing', async () => {
    const roots = (await jobRows()).filter((r) => r.task_id.startsWith('r'));
    expect(roots).toHaveLength(40);
    expect(roots.every((r) => r.state === 'CREATED' && r.dispatch === 1)).toBe(true);
    const engine = t.app.services.attempts;
    const before = engine.groupCommitStats;
    const sqlBefore = t.app.services.sql.total;
    const calls = roots.map((r) => engine.startAttempt(r.id, r.try_number, r.dispatch, `w-${r.task_id}`));
    const duplicate = engine.startAttempt(roots[5].id, roots[5].try_number, roots[5].dispatch, 'w-duplicate');
    const stale = engine.startAttempt(roots[6].id, roots[6].try_number, roots[6].dispatch + 7, 'w-stale');
    const started = await Promise.all(calls);
    expect(await duplicate).toBeNull();
    expect(await stale).toBeNull();
    const after = engine.groupCommitStats;
    expect(after.items - before.items).toBe(42);
    expect(after.flushes - before.flushes).toBeLessThanOrEqual(3);
    // Whatever a batch holds: BEGIN, the starts, the DAG's counter deltas (and its move to
    // ACTIVE), its events, COMMIT.
    expect(t.app.services.sql.total - sqlBefore).toBeLessThanOrEqual(5 * (after.flushes - before.flushes));

    expect(started.map((s) => s?.taskId)).toEqual(roots.map((r) => r.task_id));
    for (const s of started) {
      expect(s).toMatchObject({ dagId, tenantId, dagName: 'group-commit', executor: 'noop', isRerun: false });
      refs.set(s!.taskId, {
        jobId: s!.jobId,
        tryNumber: s!.tryNumber,
        dispatch: s!.dispatch,
        workerId: `w-${s!.taskId}`,
      });
    }
    const attempts: Array<{ task_id: string; worker_id: string; outcome: string }> = await t.app.services.ds.query(
      `SELECT j.task_id, a.worker_id, a.outcome FROM job_attempts a JOIN jobs j ON j.id = a.job_id
        WHERE j.tenant_id = $1 AND j.dag_id = $2`,
      [tenantId, dagId],
    );
    expect(attempts).toHaveLength(40);
    expect(attempts.every((a) => a.outcome === 'RUNNING' && a.worker_id === `w-${a.task_id}`)).toBe(true);
    expect(await progress()).toMatchObject({ n_pending: 1, n_active: 40, n_completed: 0, state: 'ACTIVE' });
    expect(await jobEvents('ACTIVE')).toBe(40);
  });

  it('completes 30 parents together: the fan-in is counted down by 30 and claimed exactly once', async () => {
    const engine = t.app.services.attempts;
    const ids = Array.from({ length: 30 }, (_, i) => `r${i}`);
    const sqlBefore = t.app.services.sql.total;
    const flushesBefore = engine.groupCommitStats.flushes;
    const wrongOwner = engine.completeAttempt({ ...refs.get('r31')!, workerId: 'someone-else' }, 'nope');
    const results = await Promise.all(ids.map((id) => engine.completeAttempt(refs.get(id)!, { from: id })));
    expect((await wrongOwner).accepted).toBe(false);
    const flushes = engine.groupCommitStats.flushes - flushesBefore;
    expect(flushes).toBeLessThanOrEqual(3);
    // Completions, attempt rows and the fan-in's countdown are one statement per batch;
    // after its commit, one read of the DAG's committed counters (is anything left open?).
    expect(t.app.services.sql.total - sqlBefore).toBeLessThanOrEqual(6 * flushes);
    expect(results.every((r) => r.accepted)).toBe(true);
    const claimed = results.flatMap((r) => r.claimed);
    const sink = (await jobRows()).find((r) => r.task_id === 'sink')!;
    expect(claimed.map((c) => [c.id, c.dispatch])).toEqual([[sink.id, 1]]);
    expect(results.flatMap((r) => r.readyJobIds)).toEqual([sink.id]);
    expect(sink).toMatchObject({ pending_deps: 0, dispatch: 1, state: 'CREATED' });

    const done: Array<{ task_id: string; output: unknown; outcome: string }> = await t.app.services.ds.query(
      `SELECT j.task_id, j.output, a.outcome FROM jobs j JOIN job_attempts a ON a.job_id = j.id
        WHERE j.tenant_id = $1 AND j.dag_id = $2 AND j.state = 'COMPLETED' ORDER BY j.task_id`,
      [tenantId, dagId],
    );
    expect(done).toHaveLength(30);
    expect(done.every((d) => d.outcome === 'SUCCEEDED' && (d.output as { from: string }).from === d.task_id)).toBe(
      true,
    );
    expect(await progress()).toMatchObject({ n_pending: 1, n_active: 10, n_completed: 30, state: 'ACTIVE' });
    expect(await jobEvents('COMPLETED')).toBe(30);
    // r31 is untouched by the refused report.
    expect((await jobRows()).find((r) => r.task_id === 'r31')?.state).toBe('ACTIVE');
  });

  it('one completion Postgres refuses fails alone: the rest of its batch is committed one by one', async () => {
    const engine = t.app.services.attempts;
    const ids = Array.from({ length: 10 }, (_, i) => `r${30 + i}`);
    // jsonb refuses the NUL character: this output cannot be stored.
    const settled = await Promise.allSettled(
      ids.map((id) => engine.completeAttempt(refs.get(id)!, id === 'r35' ? { text: 'a\u0000b' } : { from: id })),
    );
    const byId = new Map(ids.map((id, i) => [id, settled[i]]));
    expect(byId.get('r35')?.status).toBe('rejected');
    for (const id of ids.filter((x) => x !== 'r35')) {
      expect(byId.get(id)).toMatchObject({ status: 'fulfilled', value: { accepted: true } });
    }
    const rows = await jobRows();
    expect(rows.find((r) => r.task_id === 'r35')?.state).toBe('ACTIVE');
    expect(rows.filter((r) => r.state === 'COMPLETED')).toHaveLength(39);
    expect(await progress()).toMatchObject({ n_active: 1, n_completed: 39 });
    expect(await jobEvents('COMPLETED')).toBe(39);
  });
});
