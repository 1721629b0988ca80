import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { bullJobId, queueName } from '../src/jobs/queues';
import { progressOf } from '../src/services/engine/dag-transitions';
import { submitDag } from './support/dag-helpers';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * A chain step's round trips (issue 18): a completion that claims its child is one
 * statement with no transaction round it (deltas and events included) and the child's
 * enqueue, with no settle read; a start is one statement too (a DAG's first activates the
 * DAG in it); the claimed child is enqueued without waiting for the settle of a DAG that
 * ended in the same batch.
 */
let t: TestApp;
let tenantId: string;
let key: string;
beforeAll(async () => {
  // The api role alone: no sweeps issue statements in the background while we count.
  t = await startTestApp({ roles: ['api'] });
  ({ key, tenantId } = await t.tenant('submitter'));
});
afterAll(async () => {
  await t?.stop();
});

/** A DAG submitted and its roots claimed (dispatch 1); its job ids by task id. */
async function dag(
  jobs: Array<{ id: string; dependencies?: string[] }>,
): Promise<{ id: string; ids: Map<string, string> }> {
  const id = `rt-${randomUUID()}`;
  await submitDag(t, key, { id, name: 'round-trips', jobs: jobs.map((j) => ({ name: j.id, executor: 'noop', ...j })) });
  await t.app.services.jobCommands.settled(); // the roots' dispatch is an after-commit effect
  const rows: Array<{ id: string; task_id: string }> = await t.app.services.ds.query(
    `SELECT id, task_id FROM jobs WHERE tenant_id = $1 AND dag_id = $2`,
    [tenantId, id],
  );
  return { id, ids: new Map(rows.map((r) => [r.task_id, r.id])) };
}

/** The statements `fn` sends, in order. */
async function statementsOf<T>(fn: () => Promise<T>): Promise<{ value: T; sql: string[] }> {
  const { sql } = t.app.services;
  sql.record(true);
  try {
    const value = await fn();
    return { value, sql: sql.statements.map((s) => s.replace(/\s+/g, ' ').trim()) };
  } finally {
    sql.record(false);
  }
}

const ref = (jobId: string) => ({ jobId, tryNumber: 1, dispatch: 1, workerId: 'w-rt' });
const dagState = async (id: string): Promise<string> => {
  const rows: Array<{ state: string }> = await t.app.services.ds.query(
    `SELECT state FROM dags WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  return rows[0].state;
};

it('steps along a chain with one statement a completion and one a start, no transaction, no settle read while the DAG goes on', async () => {
  const x = await dag([{ id: 'p' }, { id: 'c', dependencies: ['p'] }]);
  const [p, c] = [x.ids.get('p')!, x.ids.get('c')!];
  const { attempts } = t.app.services;
  // The DAG's first start activates it in the same statement.
  const first = await statementsOf(() => attempts.startAttempt(p, 1, 1, 'w-rt'));
  expect(first.value?.taskId).toBe('p');
  expect(first.sql).toHaveLength(1);
  expect(first.sql[0]).toMatch(/^WITH r AS .* UPDATE jobs j SET state = 'ACTIVE'.* UPDATE dags d SET state = 'ACTIVE'/);

  const done = await statementsOf(() => attempts.completeAttempt(ref(p), { ok: true }));
  expect(done.value.claimed.map((d) => [d.id, d.dispatch])).toEqual([[c, 1]]);
  // The completion alone (it claims the child and writes the DAG's deltas and events): no BEGIN, no COMMIT.
  expect(done.sql).toHaveLength(1);
  expect(done.sql[0]).toMatch(
    /UPDATE jobs j SET state = 'COMPLETED'.* INSERT INTO dag_progress_deltas .* INSERT INTO event_log/,
  );
  const queued = await t.app.services.queues
    .get(queueName('noop', false))
    .getJob(bullJobId({ jobId: c, tryNumber: 1, dispatch: 1 }));
  expect(queued?.data).toMatchObject({ jobId: c, dispatch: 1 });

  const second = await statementsOf(() => attempts.startAttempt(c, 1, 1, 'w-rt'));
  expect(second.value?.taskId).toBe('c');
  // The start alone, its deltas and events included.
  expect(second.sql).toHaveLength(1);
  expect(second.sql[0]).toMatch(
    /UPDATE jobs j SET state = 'ACTIVE'.* INSERT INTO dag_progress_deltas .* INSERT INTO event_log/,
  );

  // The last job: its DAG has nothing open, so the completion settles it before resolving.
  const last = await statementsOf(() => attempts.completeAttempt(ref(c), null));
  expect(last.value.accepted).toBe(true);
  expect(last.sql.length).toBeGreaterThan(1);
  expect(last.sql[1]).toMatch(/^SELECT d.tenant_id, d.id, d.state, .* AS open/);
  expect(await dagState(x.id)).toBe('COMPLETED');

  // Every event, once and in order, whatever statement wrote it.
  const events: Array<{ type: string; task: string | null; state: string; payload: Record<string, unknown> }> =
    await t.app.services.ds.query(
      `SELECT type, payload->>'taskId' AS task, payload->>'state' AS state, payload FROM event_log_events
      WHERE tenant_id = $1 AND dag_id = $2 ORDER BY id, ord`,
      [tenantId, x.id],
    );
  expect(events.map((e) => `${e.type}:${e.task ?? ''}:${e.state}`)).toEqual([
    'DAG::CREATED',
    'JOB:p:ACTIVE',
    'DAG::ACTIVE',
    'JOB:p:COMPLETED',
    'JOB:c:ACTIVE',
    'JOB:c:COMPLETED',
    'DAG::COMPLETED',
  ]);
  // The events the start and completion statements write have the payloads DagTransitions
  // writes from JS (jobEvent, and for the DAG the one its settle wrote at the end).
  const at = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const [activated, started, completed, ended] = [events[2], events[4], events[5], events[6]].map((e) => e.payload);
  expect(started).toEqual({
    dagId: x.id,
    jobId: c,
    taskId: 'c',
    name: 'c',
    state: 'ACTIVE',
    previousState: 'CREATED',
    tryNumber: 1,
    error: null,
    progressPercent: null,
    at,
  });
  expect(Object.keys(activated).sort()).toEqual(Object.keys(ended).sort());
  expect(activated).toEqual({
    dagId: x.id,
    name: 'round-trips',
    state: 'ACTIVE',
    previousState: 'CREATED',
    progress: { total: 2, pending: 1, active: 1, completed: 0, failed: 0, skipped: 0, cached: 0, percent: 0 },
    at,
  });
  expect(completed).toEqual({
    dagId: x.id,
    jobId: c,
    taskId: 'c',
    name: 'c',
    state: 'COMPLETED',
    previousState: 'ACTIVE',
    tryNumber: 1,
    error: null,
    progressPercent: 100,
    at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
  });
});

it("enqueues a batch's claimed child before the settle of a DAG that ended in the same batch", async () => {
  const x = await dag([{ id: 'p' }, { id: 'c', dependencies: ['p'] }]);
  const y = await dag([{ id: 'y' }]);
  const z = await dag([{ id: 'z' }]);
  const [p, yj, zj] = [x.ids.get('p')!, y.ids.get('y')!, z.ids.get('z')!];
  const { attempts, dispatcher, sql } = t.app.services;
  for (const j of [p, yj, zj]) expect(await attempts.startAttempt(j, 1, 1, 'w-rt')).not.toBeNull();

  const log: string[] = [];
  const logQuery = sql.logQuery.bind(sql);
  const enqueueClaimed = dispatcher.enqueueClaimed.bind(dispatcher);
  sql.logQuery = (query: string, params?: unknown[]) => {
    if (query.startsWith('UPDATE dags d SET state = $3, completed_at = now()'))
      log.push(`finish:${String(params?.[1])}`);
    logQuery(query);
  };
  dispatcher.enqueueClaimed = async (claimed) => {
    if (claimed.length) log.push(`enqueue:${claimed.map((d) => d.id).join(',')}`);
    return enqueueClaimed(claimed);
  };
  try {
    // z's completion takes the one flush in flight; p's and y's wait and go together in the next.
    const done = await Promise.all([zj, p, yj].map((j) => attempts.completeAttempt(ref(j), null)));
    expect(done.every((d) => d.accepted)).toBe(true);
  } finally {
    sql.logQuery = logQuery;
    dispatcher.enqueueClaimed = enqueueClaimed;
  }
  expect(attempts.groupCommitStats.flushes).toBeGreaterThan(0);
  const c = x.ids.get('c')!;
  expect(log).toContain(`enqueue:${c}`);
  expect(log).toContain(`finish:${y.id}`);
  expect(log.indexOf(`enqueue:${c}`)).toBeLessThan(log.indexOf(`finish:${y.id}`));
  expect([await dagState(y.id), await dagState(z.id), await dagState(x.id)]).toEqual([
    'COMPLETED',
    'COMPLETED',
    'ACTIVE',
  ]);
});

it('a start commits while a batch of completions waits (starts and completions group-commit apart)', async () => {
  const x = await dag([{ id: 'a' }, { id: 'b' }]);
  const [a, b] = [x.ids.get('a')!, x.ids.get('b')!];
  const { attempts } = t.app.services;
  expect(await attempts.startAttempt(a, 1, 1, 'w-rt')).not.toBeNull();
  // a's completion is held at its UPDATE by a lock the test takes on a's row.
  const lock = new Client({ connectionString: inject('databaseUrl') });
  await lock.connect();
  await lock.query('BEGIN');
  await lock.query('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [a]);
  let completed = false;
  const completing = attempts.completeAttempt(ref(a), null).then((r) => {
    completed = true;
    return r;
  });
  try {
    // One flush in flight each (GROUP_COMMIT_IN_FLIGHT=1): b's start did wait behind a's
    // completion batch when both went through one group commit.
    const started = await attempts.startAttempt(b, 1, 1, 'w-rt');
    expect(started?.taskId).toBe('b');
    expect(completed).toBe(false);
  } finally {
    await lock.query('ROLLBACK');
    await lock.end();
  }
  expect((await completing).accepted).toBe(true);
});

it('a completion past an unmarked SLA deadline is left alone by the lone statement and commits in a transaction with its mark and event', async () => {
  const x = await dag([{ id: 'a' }, { id: 'b' }]);
  const [a, b] = [x.ids.get('a')!, x.ids.get('b')!];
  const { attempts, ds } = t.app.services;
  for (const j of [a, b]) expect(await attempts.startAttempt(j, 1, 1, 'w-rt')).not.toBeNull();
  // a's soft deadline passed while it ran (set here: a submission refuses a past deadline).
  await ds.query(`UPDATE jobs SET soft_sla = now() - interval '1 second' WHERE id = $1`, [a]);

  const late = await statementsOf(() => attempts.completeAttempt(ref(a), null));
  expect(late.value.accepted).toBe(true);
  // The completion statement alone (a left alone, nothing written), then a's completion,
  // its SLA mark and its events in one transaction.
  expect(late.sql[0]).toMatch(/UPDATE jobs j SET state = 'COMPLETED'/);
  expect(late.sql[1]).toBe('START TRANSACTION');
  expect(late.sql[2]).toBe(late.sql[0]);
  const commit = late.sql.indexOf('COMMIT');
  expect(late.sql.slice(2, commit).some((q) => /sla_soft_missed_at/.test(q))).toBe(true);

  // b has no deadline: its completion is the statement alone, then the DAG's settle (its read first).
  const onTime = await statementsOf(() => attempts.completeAttempt(ref(b), null));
  expect(onTime.value.accepted).toBe(true);
  expect(onTime.sql[0]).toMatch(/UPDATE jobs j SET state = 'COMPLETED'/);
  expect(onTime.sql[1]).toMatch(/^SELECT d.tenant_id, d.id, d.state, .* AS open/);

  const marks: Array<{ task_id: string; marked: boolean }> = await ds.query(
    `SELECT task_id, sla_soft_missed_at IS NOT NULL AS marked FROM jobs WHERE dag_id = $1 ORDER BY task_id`,
    [x.id],
  );
  expect(marks).toEqual([
    { task_id: 'a', marked: true },
    { task_id: 'b', marked: false },
  ]);
  const events: Array<{ type: string; task: string | null; state: string | null; kind: string | null }> =
    await ds.query(
      `SELECT type, payload->>'taskId' AS task, payload->>'state' AS state, payload->>'kind' AS kind
         FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND (type = 'SLA' OR payload->>'state' = 'COMPLETED')
        ORDER BY id, ord`,
      [tenantId, x.id],
    );
  expect(events.map((e) => `${e.type}:${e.task ?? ''}:${e.state ?? e.kind}`)).toEqual([
    'JOB:a:COMPLETED',
    'SLA:a:SOFT_MISSED',
    'JOB:b:COMPLETED',
    'DAG::COMPLETED',
  ]);
});

it("a flush's starts of an ACTIVE and of a CREATED DAG are one statement; the CREATED one is activated with its progress, each caller gets its own attempt", async () => {
  const x = await dag([{ id: 'x1' }, { id: 'x2' }]);
  const y = await dag([{ id: 'y1' }, { id: 'y2' }, { id: 'y3' }]);
  const z = await dag([{ id: 'z0' }, { id: 'z1' }]);
  const { attempts, ds } = t.app.services;
  // x and z are ACTIVE now; y is still CREATED, one of its three jobs already ended
  // (skipped, as a cancellation would leave it: its delta written as a batch writes one).
  for (const j of [x.ids.get('x1')!, z.ids.get('z0')!])
    expect(await attempts.startAttempt(j, 1, 1, 'w-rt')).not.toBeNull();
  await ds.query(`UPDATE jobs SET state = 'SKIPPED' WHERE id = $1`, [y.ids.get('y3')!]);
  await ds.query(
    `INSERT INTO dag_progress_deltas (tenant_id, dag_id, d_pending, d_active, d_completed, d_failed, d_skipped, d_cached, saved_seconds)
     VALUES ($1, $2, -1, 0, 0, 0, 1, 0, 0)`,
    [tenantId, y.id],
  );
  // z1's start takes the one flush in flight and waits at its row, held by the test; x2's
  // and y1's starts queue meanwhile and go together in the next flush.
  const lock = new Client({ connectionString: inject('databaseUrl') });
  await lock.connect();
  await lock.query('BEGIN');
  await lock.query('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [z.ids.get('z1')!]);
  const first = attempts.startAttempt(z.ids.get('z1')!, 1, 1, 'w-rt');
  await new Promise((r) => setTimeout(r, 100));
  const together = statementsOf(() =>
    Promise.all([
      attempts.startAttempt(y.ids.get('y1')!, 1, 1, 'w-rt'),
      attempts.startAttempt(x.ids.get('x2')!, 1, 1, 'w-rt'),
    ]),
  );
  await new Promise((r) => setTimeout(r, 100));
  await lock.query('ROLLBACK');
  await lock.end();
  expect((await first)?.taskId).toBe('z1');
  const { value: started, sql } = await together;
  expect(started.map((s) => s?.taskId)).toEqual(['y1', 'x2']);
  expect(sql).toHaveLength(1);
  const rows: Array<{ dag_id: string; state: string }> = await ds.query(
    `SELECT id AS dag_id, state FROM dags WHERE tenant_id = $1 AND id = ANY($2)`,
    [tenantId, [x.id, y.id]],
  );
  expect(new Map(rows.map((r) => [r.dag_id, r.state]))).toEqual(
    new Map([
      [x.id, 'ACTIVE'],
      [y.id, 'ACTIVE'],
    ]),
  );
  const events: Array<{
    dag: string;
    type: string;
    task: string | null;
    state: string;
    payload: Record<string, unknown>;
  }> = await ds.query(
    `SELECT dag_id AS dag, type, payload->>'taskId' AS task, payload->>'state' AS state, payload FROM event_log_events
        WHERE tenant_id = $1 AND dag_id = ANY($2) ORDER BY id, ord`,
    [tenantId, [x.id, y.id]],
  );
  const of = (d: string) => events.filter((e) => e.dag === d).map((e) => `${e.type}:${e.task ?? ''}:${e.state}`);
  expect(of(x.id)).toEqual(['DAG::CREATED', 'JOB:x1:ACTIVE', 'DAG::ACTIVE', 'JOB:x2:ACTIVE']);
  expect(of(y.id)).toEqual(['DAG::CREATED', 'JOB:y1:ACTIVE', 'DAG::ACTIVE']);
  // The progress the statement computed is what DagTransitions' progressOf gives (percent included).
  const activated = events.find((e) => e.dag === y.id && e.type === 'DAG' && e.state === 'ACTIVE')!.payload;
  expect(activated.progress).toEqual(
    progressOf({ n_total: 3, n_pending: 1, n_active: 1, n_completed: 0, n_failed: 0, n_skipped: 1, n_cached: 0 }),
  );
  expect((activated.progress as { percent: number }).percent).toBe(33.33);
});
