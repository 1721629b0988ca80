import { randomBytes } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Loaders } from '../../src/loaders';
import { taskStateByTask, taskStateKey } from '../../src/loaders/task-state-by-task.loader';
import type { Principal } from '../../src/core/policy';
import { taskStateBackendFor, TaskStateService } from '../../src/services/task-state.service';
import { PostgresAttemptGuard } from '../../src/state/attempt-guard';
import { TaskInstanceRef } from '../../src/state/task-instance-ref';
import { startTestS3 } from '../support/s3-server';
import { codeOfRejection, RecordingGuard } from '../support/state-backend-contract';
import { codeOf, ok, startTestApp, testConfig, type TestApp } from '../support/test-app';

let t: TestApp;
let guard: RecordingGuard;
/** `${tenantId}/${dagId}` → DAG name: the DAGs each tenant "has" (the DAG engine's lookup, faked). */
const dags = new Map<string, string>();

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});
beforeEach(() => {
  guard = new RecordingGuard();
  t.app.services.taskState.guard = guard;
  t.app.services.taskState.dagNameOf = async (tenantId, dagId) => dags.get(`${tenantId}/${dagId}`) ?? null;
});

const SET = `mutation ($i: SetTaskStateInput!) {
  setTaskState(input: $i) { key value metadata tryNumber createdAt }
}`;
const GET = `query ($d: ID!, $t: String!, $n: Int) {
  taskState(dagId: $d, taskId: $t, tryNumber: $n) { key value metadata tryNumber createdAt }
}`;

interface Entry {
  key: string;
  value: unknown;
  metadata: unknown;
  tryNumber: number;
  createdAt: string;
}

/** A tenant with an executor key and a reader key, and one DAG it has. */
async function setup(dagName = 'invoice pipeline') {
  const exec = await t.tenant('executor');
  const reader = await t.app.services.apiKeys.create(exec.tenantId, 'reader', 'reader');
  const dagId = `dag-${randomBytes(4).toString('hex')}`;
  dags.set(`${exec.tenantId}/${dagId}`, dagName);
  return { tenantId: exec.tenantId, executorKey: exec.key, readerKey: reader.key, dagId, dagName };
}

describe('setTaskState and taskState', () => {
  it('writes through the mutation and reads the latest try, or the one asked for', async () => {
    const s = await setup();
    const first = ok(
      await t.gql<{ setTaskState: Entry }>(
        SET,
        { i: { dagId: s.dagId, taskId: 'ocr', tryNumber: 1, key: 'OCR_LINES', value: ['a', 'b'] } },
        s.executorKey,
      ),
    ).setTaskState;
    expect(first).toMatchObject({ key: 'OCR_LINES', value: ['a', 'b'], metadata: {}, tryNumber: 1 });
    expect(new Date(first.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    ok(
      await t.gql(
        SET,
        {
          i: { dagId: s.dagId, taskId: 'ocr', tryNumber: 2, key: 'PAGES', value: { n: 3 }, metadata: { by: 'py' } },
        },
        s.executorKey,
      ),
    );
    ok(await t.gql(SET, { i: { dagId: s.dagId, taskId: 'ocr', tryNumber: 2, key: 'A', value: 'x' } }, s.executorKey));
    const latest = ok(await t.gql<{ taskState: Entry[] }>(GET, { d: s.dagId, t: 'ocr' }, s.readerKey)).taskState;
    expect(latest.map((e) => [e.key, e.value, e.metadata, e.tryNumber])).toEqual([
      ['A', 'x', {}, 2],
      ['PAGES', { n: 3 }, { by: 'py' }, 2],
    ]);
    const try1 = ok(await t.gql<{ taskState: Entry[] }>(GET, { d: s.dagId, t: 'ocr', n: 1 }, s.readerKey)).taskState;
    expect(try1.map((e) => [e.key, e.value])).toEqual([['OCR_LINES', ['a', 'b']]]);
    expect(ok(await t.gql<{ taskState: Entry[] }>(GET, { d: s.dagId, t: 'nothing' }, s.readerKey)).taskState).toEqual(
      [],
    );
    // The guard was asked for each write, with the caller's tenant and the DAG's name.
    expect(guard.asked.map((ti) => ti.toString())).toEqual([
      `${s.tenantId}/invoice pipeline/${s.dagId}/ocr/1`,
      `${s.tenantId}/invoice pipeline/${s.dagId}/ocr/2`,
      `${s.tenantId}/invoice pipeline/${s.dagId}/ocr/2`,
    ]);
  });

  it('lets only executor and admin keys write, and stores nothing for the others', async () => {
    const s = await setup();
    const input = { i: { dagId: s.dagId, taskId: 't', tryNumber: 1, key: 'K', value: 1 } };
    expect(codeOf(await t.gql(SET, input, s.readerKey))).toBe('FORBIDDEN');
    const submitter = await t.app.services.apiKeys.create(s.tenantId, 'sub', 'submitter');
    expect(codeOf(await t.gql(SET, input, submitter.key))).toBe('FORBIDDEN');
    expect(codeOf(await t.gql(SET, input))).toBe('UNAUTHENTICATED');
    expect(codeOf(await t.gql(GET, { d: s.dagId, t: 't' }))).toBe('UNAUTHENTICATED');
    expect(ok(await t.gql<{ taskState: Entry[] }>(GET, { d: s.dagId, t: 't' }, s.readerKey)).taskState).toEqual([]);
    expect(guard.asked).toHaveLength(0);
    const admin = await t.app.services.apiKeys.create(s.tenantId, 'adm', 'admin');
    ok(await t.gql(SET, input, admin.key));
    expect(ok(await t.gql<{ taskState: Entry[] }>(GET, { d: s.dagId, t: 't' }, submitter.key)).taskState).toHaveLength(
      1,
    );
  });

  it("never shows one tenant another's state, even with the same DAG id", async () => {
    const a = await setup();
    ok(
      await t.gql(
        SET,
        { i: { dagId: a.dagId, taskId: 'ocr', tryNumber: 1, key: 'SECRET', value: 'a' } },
        a.executorKey,
      ),
    );
    const b = await t.tenant('executor');
    // B has no such DAG: it reads exactly like a missing one, for reads and writes.
    const read = await t.gql(GET, { d: a.dagId, t: 'ocr' }, b.key);
    expect(codeOf(read)).toBe('NOT_FOUND');
    const write = await t.gql(
      SET,
      { i: { dagId: a.dagId, taskId: 'ocr', tryNumber: 1, key: 'SECRET', value: 'b' } },
      b.key,
    );
    expect(codeOf(write)).toBe('NOT_FOUND');
    // B has a DAG with the same id and name: it sees only its own state.
    dags.set(`${b.tenantId}/${a.dagId}`, a.dagName);
    expect(ok(await t.gql<{ taskState: Entry[] }>(GET, { d: a.dagId, t: 'ocr' }, b.key)).taskState).toEqual([]);
    ok(await t.gql(SET, { i: { dagId: a.dagId, taskId: 'ocr', tryNumber: 1, key: 'SECRET', value: 'b' } }, b.key));
    const seenByA = ok(await t.gql<{ taskState: Entry[] }>(GET, { d: a.dagId, t: 'ocr' }, a.readerKey)).taskState;
    expect(seenByA.map((e) => e.value)).toEqual(['a']);
    const seenByB = ok(await t.gql<{ taskState: Entry[] }>(GET, { d: a.dagId, t: 'ocr' }, b.key)).taskState;
    expect(seenByB.map((e) => e.value)).toEqual(['b']);
  });

  it('refuses a stale attempt with CONFLICT and stores nothing', async () => {
    const s = await setup();
    guard.stale.add('ocr@1');
    const res = await t.gql(
      SET,
      { i: { dagId: s.dagId, taskId: 'ocr', tryNumber: 1, key: 'LATE', value: 'stale' } },
      s.executorKey,
    );
    expect(codeOf(res)).toBe('CONFLICT');
    expect(res.errors?.[0]?.extensions).toMatchObject({ reason: 'STALE_ATTEMPT', tryNumber: 1 });
    expect(ok(await t.gql<{ taskState: Entry[] }>(GET, { d: s.dagId, t: 'ocr', n: 1 }, s.readerKey)).taskState).toEqual(
      [],
    );
    ok(
      await t.gql(SET, { i: { dagId: s.dagId, taskId: 'ocr', tryNumber: 2, key: 'LATE', value: 'ok' } }, s.executorKey),
    );
  });

  it('answers bad input with BAD_USER_INPUT naming the field, before asking the guard', async () => {
    const s = await setup();
    const base = { dagId: s.dagId, taskId: 'ocr', tryNumber: 1, key: 'K', value: 1 };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ key: 'no/slash' }, 'input.key'],
      [{ value: 'x'.repeat(1024 * 1024) }, 'input.value'],
      [{ metadata: [1, 2] }, 'input.metadata'],
      [{ metadata: 'text' }, 'input.metadata'],
      [{ taskId: '../up' }, 'input.taskId'],
      [{ tryNumber: -1 }, 'input.tryNumber'],
    ];
    for (const [change, field] of cases) {
      const res = await t.gql(SET, { i: { ...base, ...change } }, s.executorKey);
      expect(codeOf(res), field).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field, field).toBe(field);
    }
    const big = await t.gql(SET, { i: { ...base, value: 'x'.repeat(1024 * 1024) } }, s.executorKey);
    expect(big.errors?.[0]?.message).toContain('"K"');
    expect(guard.asked.filter((ti) => ti.taskId === 'ocr')).toHaveLength(0);
    expect(ok(await t.gql<{ taskState: Entry[] }>(GET, { d: s.dagId, t: 'ocr' }, s.readerKey)).taskState).toEqual([]);
    const unknownDag = await t.gql(SET, { i: { ...base, dagId: 'no-such-dag' } }, s.executorKey);
    expect(codeOf(unknownDag)).toBe('NOT_FOUND');
    expect(codeOf(await t.gql(GET, { d: 'no-such-dag', t: 'ocr' }, s.readerKey))).toBe('NOT_FOUND');
  });
});

describe('TaskStateService', () => {
  it('installs PostgresAttemptGuard and the Postgres backend on the app database by default', async () => {
    const fresh = taskStateBackendFor(testConfig(), t.app.services.ds);
    expect(fresh.kind).toBe('postgres');
    expect(t.app.services.taskState.backend.kind).toBe('postgres');
    expect(TaskStateService.create(testConfig(), t.app.services.ds).guard).toBeInstanceOf(PostgresAttemptGuard);
  });

  it("gives executor calls a RunContext on the job's attempt, visible to taskState and cleared by clearTask", async () => {
    const s = await setup('pipeline');
    const svc = t.app.services.taskState;
    const job = { tenantId: s.tenantId, dagName: s.dagName, dagId: s.dagId, taskId: 'extract', tryNumber: 1 };
    const ctx = svc.runContextFor(job);
    expect(ctx.ti.toJSON()).toEqual(job);
    await ctx.set('TEXT', 'hello', { metadata: { pages: 1 } });
    const downstream = svc.runContextFor({ ...job, taskId: 'classify' });
    expect(await downstream.get('TEXT', { fromTask: 'extract' })).toBe('hello');
    const shown = ok(await t.gql<{ taskState: Entry[] }>(GET, { d: s.dagId, t: 'extract' }, s.readerKey)).taskState;
    expect(shown.map((e) => [e.key, e.value, e.metadata])).toEqual([['TEXT', 'hello', { pages: 1 }]]);
    // A guard installed after the RunContext was made still applies to its writes.
    const later = new RecordingGuard();
    later.stale.add('extract@1');
    svc.guard = later;
    expect((await codeOfRejection(ctx.set('MORE', 1))).code).toBe('CONFLICT');
    await svc.clearTask(s.tenantId, s.dagName, s.dagId, 'extract');
    expect(await downstream.get('TEXT', { fromTask: 'extract' })).toBeUndefined();
    expect(ok(await t.gql<{ taskState: Entry[] }>(GET, { d: s.dagId, t: 'extract' }, s.readerKey)).taskState).toEqual(
      [],
    );
  });

  it('loads many tasks\u2019 latest state with the taskStateByTask loader in one SQL statement', async () => {
    const s = await setup();
    const svc = t.app.services.taskState;
    await svc.runContextFor({ ...s, taskId: 'a', tryNumber: 1 }).set('K', 'a1');
    await svc.runContextFor({ ...s, taskId: 'a', tryNumber: 2 }).set('K', 'a2');
    await svc.runContextFor({ ...s, taskId: 'b', tryNumber: 1 }).set('K', 'b1');
    const principal: Principal = {
      tenantId: s.tenantId,
      tenantSlug: 'x',
      role: 'reader',
      apiKeyId: 'k',
      apiKeyName: 'k',
    };
    const loader = taskStateByTask(new Loaders(t.app.services, principal));
    const before = t.app.services.sql.total;
    const got = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((task) => loader.load(taskStateKey(s.dagId, task))),
    );
    expect(t.app.services.sql.total - before).toBe(1);
    expect(got.map((es) => es.map((e) => [e.value, e.tryNumber]))).toEqual([[['a2', 2]], [['b1', 1]], [], [], [], []]);
    // Another tenant's loader sees nothing of it.
    const other = taskStateByTask(new Loaders(t.app.services, { ...principal, tenantId: 'someone-else' }));
    expect(await other.load(taskStateKey(s.dagId, 'a'))).toEqual([]);
  });

  it('builds the backend TASK_STATE_URL names: memory, or S3 with the TASK_STATE_S3_* settings', async () => {
    expect(taskStateBackendFor(testConfig({ TASK_STATE_URL: 'memory://' }), t.app.services.ds).kind).toBe('memory');
    const s3 = await startTestS3();
    try {
      await s3.createBucket('configured');
      const config = testConfig({
        TASK_STATE_URL: 's3://configured/state',
        TASK_STATE_S3_ENDPOINT: s3.endpoint,
        TASK_STATE_S3_ACCESS_KEY_ID: s3.accessKeyId,
        TASK_STATE_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        TASK_STATE_S3_FORCE_PATH_STYLE: 'true',
        TASK_STATE_MAX_VALUE_BYTES: '100',
      });
      const backend = taskStateBackendFor(config, t.app.services.ds);
      expect(backend.kind).toBe('s3');
      const ti = new TaskInstanceRef({ tenantId: 't1', dagName: 'd', dagId: 'run', taskId: 'x', tryNumber: 1 });
      await backend.put(ti, 'K', 'v');
      const got = await s3.client.send(
        new GetObjectCommand({ Bucket: 'configured', Key: 'state/t1/d/run/x/1/K.json' }),
      );
      expect(JSON.parse((await got.Body?.transformToString()) ?? '{}')).toMatchObject({ value: 'v' });
      expect((await codeOfRejection(backend.put(ti, 'K', 'x'.repeat(200)))).code).toBe('BAD_USER_INPUT');
      await backend.close();
    } finally {
      await s3.stop();
    }
  });
});
