import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitDag, waitFor } from './support/dag-helpers';
import { collect, waitSubscribed } from './support/event-helpers';
import { activeJob, holdingExecutor, type HeldJob } from './support/held-jobs';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

const hold = holdingExecutor();
let t: TestApp;
let key: string;
let tenantId: string;
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [hold.invoker] });
  ({ key, tenantId } = await t.tenant('executor'));
});
afterAll(async () => {
  hold.releaseAll();
  await t?.stop();
});

const RECORD = `mutation ($i: RecordMaterializationsInput!) { recordMaterializations(input: $i) { materializations { assetKey dagId nodeTaskId jobId } } }`;
const SET_STATE = `mutation ($i: SetTaskStateInput!) { setTaskState(input: $i) { key value tryNumber } }`;
const JOB = `query ($d: ID!) { job(dagId: $d, taskId: "a") { id state } }`;
const V = (c: string) => `v:sha256:${c.repeat(64)}`;

/** The dispatch of a held job's current try, as the worker started it. */
async function dispatchOf(jobId: string): Promise<number> {
  const rows: Array<{ dispatch: number }> = await t.app.services.ds.query(`SELECT dispatch FROM jobs WHERE id = $1`, [
    jobId,
  ]);
  return rows[0].dispatch;
}

async function tokenFor(held: HeldJob, over: { dispatch?: number; deadline?: Date } = {}): Promise<string> {
  return t.app.services.attemptTokens.mint({
    tenantId,
    jobId: held.jobId,
    tryNumber: held.tryNumber,
    dispatch: over.dispatch ?? (await dispatchOf(held.jobId)),
    deadline: over.deadline,
  });
}

describe('an attempt token is a Bearer key whose principal is its attempt', () => {
  it('reads its DAG (and its tenant) as a reader over HTTP', async () => {
    const held = await activeJob(t, key);
    const token = await tokenFor(held);
    const res = ok(await t.gql<{ job: { id: string; state: string } }>(JOB, { d: held.dagId }, token));
    expect(res.job).toEqual({ id: held.jobId, state: 'ACTIVE' });
    const state = ok(
      await t.gql<{ taskState: unknown[] }>(
        `query ($d: ID!) { taskState(dagId: $d, taskId: "a") { key } }`,
        {
          d: held.dagId,
        },
        token,
      ),
    );
    expect(state.taskState).toEqual([]);
  });

  it('sees nothing of another tenant', async () => {
    const other = await t.tenant('executor');
    const theirs = await activeJob(t, other.key);
    const held = await activeJob(t, key);
    const token = await tokenFor(held);
    const res = ok(
      await t.gql<{ job: unknown; dag: unknown }>(
        `query ($d: ID!) { job(dagId: $d, taskId: "a") { id } dag(id: $d) { id } }`,
        { d: theirs.dagId },
        token,
      ),
    );
    expect(res).toEqual({ job: null, dag: null });
  });

  it('is UNAUTHENTICATED when tampered, expired or for a job that does not exist', async () => {
    const held = await activeJob(t, key);
    const token = await tokenFor(held);
    const tampered = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
    expect(codeOf(await t.gql(JOB, { d: held.dagId }, tampered))).toBe('UNAUTHENTICATED');
    const expired = await tokenFor(held, { deadline: new Date(Date.now() - 3_600_000) });
    expect(codeOf(await t.gql(JOB, { d: held.dagId }, expired))).toBe('UNAUTHENTICATED');
    const ghost = t.app.services.attemptTokens.mint({ tenantId, jobId: randomUUID(), tryNumber: 1, dispatch: 1 });
    expect(codeOf(await t.gql(JOB, { d: held.dagId }, ghost))).toBe('UNAUTHENTICATED');
  });

  it('is FORBIDDEN any write but its attempt’s', async () => {
    const held = await activeJob(t, key);
    const token = await tokenFor(held);
    const submit = await t.gql(
      `mutation ($i: SubmitDagInput!) { submitDag(input: $i) { id } }`,
      { i: { name: 'x', jobs: [{ id: 'a', name: 'a', executor: 'hold' }] } },
      token,
    );
    expect(codeOf(submit)).toBe('FORBIDDEN');
    expect(codeOf(await t.gql(`mutation ($d: ID!) { cancelDag(id: $d) { id } }`, { d: held.dagId }, token))).toBe(
      'FORBIDDEN',
    );
    expect(codeOf(await t.gql(`mutation { createApiKey(input: { name: "x", role: ADMIN }) { key } }`, {}, token))).toBe(
      'FORBIDDEN',
    );
    expect(codeOf(await t.gql(`mutation { registerAsset(input: { key: "tok/x" }) { key } }`, {}, token))).toBe(
      'FORBIDDEN',
    );
    const job = ok(await t.gql<{ job: { state: string } }>(JOB, { d: held.dagId }, key));
    expect(job.job.state).toBe('ACTIVE');
  });

  it('records materializations for its own dag, node, job and try, and refuses another node', async () => {
    const held = await activeJob(t, key);
    const token = await tokenFor(held);
    const res = ok(
      await t.gql<{ recordMaterializations: { materializations: Array<Record<string, unknown>> } }>(
        RECORD,
        { i: { assets: [{ assetKey: 'tok/out', version: V('a') }] } },
        token,
      ),
    );
    expect(res.recordMaterializations.materializations).toEqual([
      { assetKey: 'tok/out', dagId: held.dagId, nodeTaskId: 'a', jobId: held.jobId },
    ]);
    const elsewhere = await t.gql(
      RECORD,
      { i: { dagId: held.dagId, nodeTaskId: 'b', assets: [{ assetKey: 'tok/out', version: V('b') }] } },
      token,
    );
    expect(codeOf(elsewhere)).toBe('FORBIDDEN');
    const otherTry = await t.gql(
      RECORD,
      { i: { tryNumber: held.tryNumber + 1, assets: [{ assetKey: 'tok/out', version: V('c') }] } },
      token,
    );
    expect(codeOf(otherTry)).toBe('FORBIDDEN');
  });

  it('sets task state of its own try only', async () => {
    const held = await activeJob(t, key);
    const token = await tokenFor(held);
    const own = { dagId: held.dagId, taskId: 'a', tryNumber: held.tryNumber, key: 'k', value: { n: 1 } };
    const res = ok(await t.gql<{ setTaskState: Record<string, unknown> }>(SET_STATE, { i: own }, token));
    expect(res.setTaskState).toEqual({ key: 'k', value: { n: 1 }, tryNumber: held.tryNumber });
    expect(codeOf(await t.gql(SET_STATE, { i: { ...own, taskId: 'b' } }, token))).toBe('FORBIDDEN');
    expect(codeOf(await t.gql(SET_STATE, { i: { ...own, tryNumber: held.tryNumber + 1 } }, token))).toBe('FORBIDDEN');
  });

  it('writes nothing for a dispatch that is not the current one: CONFLICT', async () => {
    const held = await activeJob(t, key);
    const stale = await tokenFor(held, { dispatch: (await dispatchOf(held.jobId)) + 1 });
    const own = { dagId: held.dagId, taskId: 'a', tryNumber: held.tryNumber, key: 'k', value: 1 };
    expect(codeOf(await t.gql(SET_STATE, { i: own }, stale))).toBe('CONFLICT');
    expect(codeOf(await t.gql(RECORD, { i: { assets: [{ assetKey: 'tok/stale', version: V('d') }] } }, stale))).toBe(
      'CONFLICT',
    );
  });

  it('writes nothing once its attempt ended (CONFLICT), and still reads until it expires', async () => {
    const held = await activeJob(t, key);
    const token = await tokenFor(held);
    ok(await t.gql(`mutation ($d: ID!) { cancelDag(id: $d) { id } }`, { d: held.dagId }, key));
    await waitFor(
      async () =>
        (await t.gql<{ job: { state: string } }>(JOB, { d: held.dagId }, key)).data?.job.state === 'CANCELLED',
      10_000,
      'the job to be CANCELLED',
    );
    const own = { dagId: held.dagId, taskId: 'a', tryNumber: held.tryNumber, key: 'k', value: 1 };
    expect(codeOf(await t.gql(SET_STATE, { i: own }, token))).toBe('CONFLICT');
    expect(codeOf(await t.gql(RECORD, { i: { assets: [{ assetKey: 'tok/late', version: V('e') }] } }, token))).toBe(
      'CONFLICT',
    );
    const res = ok(await t.gql<{ job: { state: string } }>(JOB, { d: held.dagId }, token));
    expect(res.job.state).toBe('CANCELLED');
  });

  it('authenticates a WebSocket too', async () => {
    const held = await activeJob(t, key);
    const token = await tokenFor(held);
    const client = t.ws(token);
    const result = await new Promise<unknown>((resolve, reject) => {
      let value: unknown;
      client.subscribe(
        { query: `query ($d: ID!) { job(dagId: $d, taskId: "a") { id } }`, variables: { d: held.dagId } },
        { next: (v) => (value = v), error: reject, complete: () => resolve(value) },
      );
    });
    expect(result).toEqual({ data: { job: { id: held.jobId } } });
  });

  it("a WebSocket lives as long as its credential: an attempt token's until the token expires, a key's until it is revoked", async () => {
    const held = await activeJob(t, key);
    // Expires at the deadline plus one lease length (2 s here): some 7 s from now.
    const token = await tokenFor(held, { deadline: new Date(Date.now() + 5_000) });
    const JOB_SUB = `subscription ($d: ID!) { jobStatusChanged(dagId: $d) { cursor } }`;
    let tokenClosed = 0;
    collect(t.ws(token, { onClosed: (c) => (tokenClosed = c) }), JOB_SUB, { d: held.dagId });
    const reader = await t.app.services.apiKeys.create(tenantId, 'wall', 'reader');
    let keyClosed = 0;
    collect(t.ws(reader.key, { onClosed: (c) => (keyClosed = c) }), JOB_SUB, { d: held.dagId });
    await waitSubscribed(t, tenantId, 2);
    // Revoked with no bus message: the open sockets' key check (every second here) closes it,
    // and the attempt token's socket beside it is left as it is.
    await t.app.services.ds.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [reader.apiKey.id]);
    await waitFor(async () => keyClosed === 4403, 10_000, "the revoked key's socket closed");
    expect(tokenClosed).toBe(0);
    await waitFor(async () => tokenClosed === 4403, 20_000, "the expired token's socket closed");
  }, 40_000);

  it('answers Query.attempt with its context and its upstream nodes’ latest materializations; cancelled once cancelled', async () => {
    const dagId = `tok-ctx-${randomUUID()}`;
    await submitDag(t, key, {
      id: dagId,
      name: 'ctx',
      jobs: [
        { id: 'up', name: 'up', executor: 'hold' },
        { id: 'down', name: '/extract', executor: 'hold', dependencies: ['up'], partitionKey: 'p1' },
      ],
    });
    const activeOf = (taskId: string) =>
      waitFor(
        async () => {
          const j = (
            await t.gql<{ job: { id: string; state: string; tryNumber: number } | null }>(
              `query ($d: ID!, $t: String!) { job(dagId: $d, taskId: $t) { id state tryNumber } }`,
              { d: dagId, t: taskId },
              key,
            )
          ).data?.job;
          return j?.state === 'ACTIVE' ? { dagId, taskId, jobId: j.id, tryNumber: j.tryNumber } : null;
        },
        15_000,
        `${taskId} to be ACTIVE`,
      );
    const up = await activeOf('up');
    const upToken = await tokenFor(up);
    ok(await t.gql(RECORD, { i: { assets: [{ assetKey: 'tok/up', version: V('1'), uri: 'file:///u' }] } }, upToken));
    // A key (not a token) may not ask for an attempt.
    expect(codeOf(await t.gql(`{ attempt { jobId } }`, {}, key))).toBe('FORBIDDEN');
    hold.releaseAll();
    const down = await activeOf('down');
    const token = await tokenFor(down);
    const ATTEMPT = `{ attempt { dagId dagName jobId taskId tryNumber partitionKey endpoint deadline cancelled
      upstream { assetKey version partitionKey uri nodeTaskId } } }`;
    const res = ok(await t.gql<{ attempt: Record<string, unknown> }>(ATTEMPT, {}, token));
    expect(res.attempt).toMatchObject({
      dagId,
      dagName: 'ctx',
      jobId: down.jobId,
      taskId: 'down',
      tryNumber: down.tryNumber,
      partitionKey: 'p1',
      endpoint: '/extract',
      cancelled: false,
      upstream: [{ assetKey: 'tok/up', version: V('1'), partitionKey: null, uri: 'file:///u', nodeTaskId: 'up' }],
    });
    expect(Date.parse(res.attempt.deadline as string)).toBeGreaterThan(Date.now());
    ok(await t.gql(`mutation ($d: ID!) { cancelDag(id: $d) { id } }`, { d: dagId }, key));
    const after = ok(await t.gql<{ attempt: { cancelled: boolean } }>(`{ attempt { cancelled } }`, {}, token));
    expect(after.attempt.cancelled).toBe(true);
  });

  it('reports progress of its ACTIVE attempt, and CONFLICT for a stale dispatch', async () => {
    const held = await activeJob(t, key);
    const token = await tokenFor(held);
    const REPORT = `mutation ($p: Float!, $m: String) { reportProgress(percent: $p, message: $m) }`;
    expect(ok(await t.gql<{ reportProgress: boolean }>(REPORT, { p: 42.5, m: 'half' }, token)).reportProgress).toBe(
      true,
    );
    const job = ok(
      await t.gql<{ job: Record<string, unknown> }>(
        `query ($d: ID!) { job(dagId: $d, taskId: "a") { progressPercent progressMessage } }`,
        { d: held.dagId },
        key,
      ),
    );
    expect(job.job).toEqual({ progressPercent: 42.5, progressMessage: 'half' });
    const stale = await tokenFor(held, { dispatch: (await dispatchOf(held.jobId)) + 1 });
    expect(codeOf(await t.gql(REPORT, { p: 50 }, stale))).toBe('CONFLICT');
    expect(codeOf(await t.gql(REPORT, { p: 50 }, key))).toBe('FORBIDDEN');
  });
});
