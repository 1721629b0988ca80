import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dagSnapshot, jobOf, seedPipeline, submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
let key: string;
let tenantId: string;

beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'] });
  const tn = await t.tenant('submitter');
  key = tn.key;
  tenantId = tn.tenantId;
});
afterAll(async () => {
  await t?.stop();
});

const eventsOf = (dagId: string): Promise<Array<{ type: string; payload: Record<string, unknown> }>> =>
  t.app.services.ds.query(
    `SELECT type, payload FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 ORDER BY id, ord`,
    [tenantId, dagId],
  );

describe('running DAGs', () => {
  it('runs OCR → (classify ∥ extract) → store to COMPLETED with every transition in the log, in order', async () => {
    const id = `pipe-${randomUUID()}`;
    await submitDag(t, key, seedPipeline(id, { store: { data: { output: { stored: true } } } }));
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED']);
    expect(d.state).toBe('COMPLETED');
    expect(d.progress).toMatchObject({ total: 4, completed: 4, pending: 0, active: 0, percent: 100 });
    expect(jobOf(d, 'store').output).toEqual({ stored: true });
    for (const j of d.jobs) expect(j.attempts).toMatchObject([{ tryNumber: 1, outcome: 'SUCCEEDED' }]);

    const events = await eventsOf(id);
    const dagStates = events.filter((e) => e.type === 'DAG').map((e) => e.payload.state);
    expect(dagStates).toEqual(['CREATED', 'ACTIVE', 'COMPLETED']);
    const jobSeq = events
      .filter((e) => e.type === 'JOB')
      .map((e) => `${String(e.payload.taskId)}:${String(e.payload.state)}`);
    for (const task of ['ocr', 'classify', 'extract', 'store']) {
      expect(jobSeq.filter((s) => s.startsWith(`${task}:`))).toEqual([`${task}:ACTIVE`, `${task}:COMPLETED`]);
    }
    const at = (s: string) => jobSeq.indexOf(s);
    expect(at('ocr:COMPLETED')).toBeLessThan(at('classify:ACTIVE'));
    expect(at('ocr:COMPLETED')).toBeLessThan(at('extract:ACTIVE'));
    expect(at('classify:COMPLETED')).toBeLessThan(at('store:ACTIVE'));
    expect(at('extract:COMPLETED')).toBeLessThan(at('store:ACTIVE'));
    // The final DAG event carries the progress snapshot of that moment.
    expect(events.filter((e) => e.type === 'DAG').at(-1)?.payload.progress).toMatchObject({
      completed: 4,
      percent: 100,
    });
  });

  it('retries a failing extract twice with backoff delays, then fails it, skips store, keeps classify, fails the DAG', async () => {
    const id = `fail-${randomUUID()}`;
    await submitDag(
      t,
      key,
      seedPipeline(id, { extract: { data: { failTimes: 10 }, retryLimit: 2, retryDelay: 2, retryBackoff: true } }),
    );
    const d = await waitForDag(t, key, id, ['FAILED', 'COMPLETED']);
    expect(d.state).toBe('FAILED');
    expect(jobOf(d, 'classify').state).toBe('COMPLETED');
    expect(jobOf(d, 'store').state).toBe('SKIPPED');
    const extract = jobOf(d, 'extract');
    expect(extract.state).toBe('FAILED');
    expect(extract.tryNumber).toBe(3);
    expect(extract.attempts.map((a) => [a.tryNumber, a.outcome])).toEqual([
      [1, 'FAILED'],
      [2, 'FAILED'],
      [3, 'FAILED'],
    ]);
    // Delays inside the backoff bounds: retryDelay·2^(n−1) plus up to as much jitter (unit 100 ms in tests).
    const rows: Array<{ try_number: number; started_at: Date; finished_at: Date }> = await t.app.services.ds.query(
      `SELECT a.try_number, a.started_at, a.finished_at FROM job_attempts a JOIN jobs j ON j.id = a.job_id
       WHERE j.tenant_id = $1 AND j.dag_id = $2 AND j.task_id = 'extract' ORDER BY a.id`,
      [tenantId, id],
    );
    const unit = t.app.services.config.timings.retryDelayUnitMs;
    for (const [n, base] of [
      [1, 2 * unit],
      [2, 4 * unit],
    ] as const) {
      const gap = rows[n].started_at.getTime() - rows[n - 1].finished_at.getTime();
      expect(gap).toBeGreaterThanOrEqual(base - 5);
      expect(gap).toBeLessThanOrEqual(2 * base + 250);
    }
  });

  it('expires a hanging job after expireInSeconds', async () => {
    const id = `hang-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'hang',
      jobs: [{ id: 'h', name: 'h', executor: 'noop', expireInSeconds: 1, data: { hang: true } }],
    });
    const d = await waitForDag(t, key, id, ['FAILED', 'COMPLETED']);
    expect(jobOf(d, 'h').state).toBe('EXPIRED');
    expect(jobOf(d, 'h').attempts[0]?.outcome).toBe('EXPIRED');
    expect(d.state).toBe('FAILED');
  });

  it('cancels a whole DAG mid-run; the running call sees the abort and its late report is refused', async () => {
    const id = `cancel-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'cancel',
      jobs: [
        { id: 'a', name: 'a', executor: 'noop', data: { hang: true } },
        { id: 'b', name: 'b', executor: 'noop', dependencies: ['a'] },
      ],
    });
    await waitFor(async () => jobOf(await dagSnapshot(t, key, id), 'a').state === 'ACTIVE', 10_000, 'a ACTIVE');
    const res = ok(
      await t.gql<{ cancelDag: { state: string } }>(
        'mutation ($id: ID!) { cancelDag(id: $id) { state } }',
        { id },
        key,
      ),
    );
    expect(res.cancelDag.state).toBe('CANCELLED');
    const d = await dagSnapshot(t, key, id);
    expect(jobOf(d, 'a').state).toBe('CANCELLED');
    expect(jobOf(d, 'b').state).toBe('CANCELLED');
    // The worker's call was aborted: its attempt is closed as CANCELLED and no longer running.
    await waitFor(async () => t.app.worker!.activeJobs === 0, 5_000, 'worker to drop the cancelled call');
    expect(jobOf(await dagSnapshot(t, key, id), 'a').attempts[0]?.outcome).toBe('CANCELLED');
  });

  it('cancels one job: it ends CANCELLED, its descendants SKIPPED, the rest goes on', async () => {
    const id = `cjob-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'cancel-job',
      jobs: [
        { id: 'slow', name: 'slow', executor: 'noop', data: { hang: true } },
        { id: 'after', name: 'after', executor: 'noop', dependencies: ['slow'] },
        { id: 'other', name: 'other', executor: 'noop', data: { sleepMs: 200 } },
      ],
    });
    await waitFor(async () => jobOf(await dagSnapshot(t, key, id), 'slow').state === 'ACTIVE', 10_000, 'slow ACTIVE');
    const res = ok(
      await t.gql<{ cancelJob: { state: string } }>(
        'mutation ($d: ID!) { cancelJob(dagId: $d, taskId: "slow") { state } }',
        { d: id },
        key,
      ),
    );
    expect(res.cancelJob.state).toBe('CANCELLED');
    const d = await waitForDag(t, key, id, ['FAILED', 'COMPLETED']);
    expect(d.state).toBe('FAILED');
    expect(jobOf(d, 'after').state).toBe('SKIPPED');
    expect(jobOf(d, 'other').state).toBe('COMPLETED');
  });

  it('retryJob on a failed DAG reruns the job with a fresh budget, un-skips its dependents and completes the DAG', async () => {
    const id = `retry-${randomUUID()}`;
    await submitDag(t, key, seedPipeline(id, { extract: { data: { failTimes: 1 } } }));
    let d = await waitForDag(t, key, id, ['FAILED', 'COMPLETED']);
    expect(d.state).toBe('FAILED');
    expect(jobOf(d, 'store').state).toBe('SKIPPED');
    const r = ok(
      await t.gql<{ retryJob: { state: string; tryNumber: number } }>(
        'mutation ($d: ID!) { retryJob(dagId: $d, taskId: "extract") { state tryNumber } }',
        { d: id },
        key,
      ),
    );
    expect(r.retryJob.tryNumber).toBe(2);
    d = await waitForDag(t, key, id, ['COMPLETED']);
    expect(jobOf(d, 'extract').state).toBe('COMPLETED');
    expect(jobOf(d, 'store').state).toBe('COMPLETED');
    const dagStates = (await eventsOf(id)).filter((e) => e.type === 'DAG').map((e) => e.payload.state);
    expect(dagStates).toEqual(['CREATED', 'ACTIVE', 'FAILED', 'ACTIVE', 'COMPLETED']);
  });
});

describe('submission', () => {
  const bad = async (input: Record<string, unknown>) =>
    t.gql(`mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id } }`, { input }, key);
  const base = (over: Record<string, unknown> = {}) => ({
    name: 'bad',
    jobs: [
      { id: 'a', name: 'a', executor: 'noop' },
      { id: 'b', name: 'b', executor: 'noop', dependencies: ['a'] },
    ],
    ...over,
  });

  it.each([
    [
      'duplicate job ids',
      {
        jobs: [
          { id: 'a', name: 'a' },
          { id: 'a', name: 'a' },
        ],
      },
      'input.jobs[1].id',
    ],
    [
      'an unknown dependency',
      { jobs: [{ id: 'a', name: 'a', dependencies: ['zz'] }] },
      'input.jobs[0].dependencies[0]',
    ],
    [
      'a cycle',
      {
        jobs: [
          { id: 'a', name: 'a', dependencies: ['c'] },
          { id: 'b', name: 'b', dependencies: ['a'] },
          { id: 'c', name: 'c', dependencies: ['b'] },
        ],
      },
      'input.jobs',
    ],
    ['a priority out of range', { jobs: [{ id: 'a', name: 'a', priority: 1001 }] }, 'input.jobs[0].priority'],
    ['negative retries', { jobs: [{ id: 'a', name: 'a', retryLimit: -1 }] }, 'input.jobs[0].retryLimit'],
    [
      'a soft SLA after the hard one',
      { softSla: '2030-01-02T00:00:00Z', hardSla: '2030-01-01T00:00:00Z' },
      'input.softSla',
    ],
    ['a bad task id', { jobs: [{ id: 'a b', name: 'a' }] }, 'input.jobs[0].id'],
    [
      'a wrong jobLevel',
      {
        jobs: [
          { id: 'a', name: 'a' },
          { id: 'b', name: 'b', dependencies: ['a'], jobLevel: 0 },
        ],
      },
      'input.jobs[1].jobLevel',
    ],
    [
      'too much data in one job',
      { jobs: [{ id: 'a', name: 'a', data: { blob: 'x'.repeat(300 * 1024) } }] },
      'input.jobs[0].data',
    ],
    ['no jobs', { jobs: [] }, 'input.jobs'],
    ['a callback host outside the allow-list', { callbackUrl: 'http://example.com/hook' }, 'input.callbackUrl'],
  ])('refuses %s with BAD_USER_INPUT naming the field, storing nothing', async (_label, over, field) => {
    const id = `bad-${randomUUID()}`;
    const res = await bad({ ...base(over), id });
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe(field);
    expect(await t.app.services.dags.get(tenantId, id)).toBeNull();
  });

  it('names the cycle', async () => {
    const res = await bad(
      base({
        jobs: [
          { id: 'x', name: 'x', dependencies: ['y'] },
          { id: 'y', name: 'y', dependencies: ['x'] },
        ],
      }),
    );
    expect(res.errors?.[0]?.message).toMatch(/cycle: (x → y → x|y → x → y)/);
  });

  it('returns the existing DAG for the same id and input, and CONFLICT for a changed one', async () => {
    const id = `idem-${randomUUID()}`;
    const input = { id, name: 'idem', jobs: [{ id: 'a', name: 'a', executor: 'noop', data: { x: 1, y: 2 } }] };
    await submitDag(t, key, input);
    // Same input, keys in another order: the same DAG.
    const again = await submitDag(t, key, {
      ...input,
      jobs: [{ executor: 'noop', data: { y: 2, x: 1 }, name: 'a', id: 'a' }],
    });
    expect(again).toBe(id);
    const changed = await bad({ ...input, jobs: [{ id: 'a', name: 'a', executor: 'noop', data: { x: 2 } }] });
    expect(codeOf(changed)).toBe('CONFLICT');
    const count: Array<{ n: number }> = await t.app.services.ds.query(
      'SELECT count(*)::int AS n FROM jobs WHERE tenant_id = $1 AND dag_id = $2',
      [tenantId, id],
    );
    expect(count[0]?.n).toBe(1);
  });

  it('keeps tenants apart: another tenant reads the DAG as missing', async () => {
    const id = `iso-${randomUUID()}`;
    await submitDag(t, key, { id, name: 'iso', jobs: [{ id: 'a', name: 'a', executor: 'noop' }] });
    const other = await t.tenant('admin');
    const res = await t.gql<{ dag: unknown; job: unknown }>(
      `query ($id: ID!) { dag(id: $id) { id } job(dagId: $id, taskId: "a") { id } }`,
      { id },
      other.key,
    );
    expect(ok(res)).toEqual({ dag: null, job: null });
    expect(codeOf(await t.gql(`mutation ($id: ID!) { cancelDag(id: $id) { id } }`, { id }, other.key))).toBe(
      'NOT_FOUND',
    );
    // A reader cannot submit.
    const reader = await t.tenant('reader');
    expect(
      codeOf(
        await t.gql(`mutation { submitDag(input: {name: "x", jobs: [{id: "a", name: "a"}]}) { id } }`, {}, reader.key),
      ),
    ).toBe('FORBIDDEN');
  });
});
