import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOf, submitDag, waitFor, waitForDag } from './support/dag-helpers';
import {
  disposePython,
  killPython,
  noteNow,
  PY_EXECUTORS,
  readNote,
  remoteOf,
  startPython,
  type PyServer,
} from './support/python-remote';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

// Two workers, each with its own Python process serving executor `py`: A (with the api and
// the scheduler) and B (a worker alone, calling the api back through PUBLIC_API_URL).
let pyA: PyServer;
let pyB: PyServer;
let a: TestApp;
let b: TestApp;
let key: string;

beforeAll(async () => {
  [pyA, pyB] = await Promise.all([
    startPython(PY_EXECUTORS, { args: ['py-a'] }),
    startPython(PY_EXECUTORS, { args: ['py-b'] }),
  ]);
  a = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [remoteOf('py', pyA.url)] });
  b = await startTestApp({ roles: ['worker'], env: { PUBLIC_API_URL: a.url }, executors: [remoteOf('py', pyB.url)] });
  ({ key } = await a.tenant('admin'));
}, 60_000);

afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await Promise.all([disposePython(pyA), disposePython(pyB)]);
});

/** The server whose handler started `<task>-<try>` (waits for one to). */
async function startedOn(taskTry: string): Promise<PyServer> {
  return waitFor(
    async () => [pyA, pyB].find((p) => noteNow(p, `${taskTry}.started.json`)),
    30_000,
    `${taskTry} to start on a Python executor`,
  );
}

const SET_STATE = `mutation ($i: SetTaskStateInput!) { setTaskState(input: $i) { key } }`;
const TASK_STATE = `query ($d: ID!, $t: String!) { taskState(dagId: $d, taskId: $t) { key value } }`;
const SUBMIT = `mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id } }`;

describe('remote executor faults (two workers, two Python processes)', () => {
  it('the Python executor killed mid-call (SIGKILL): the attempt fails and retries on the other one, and the DAG completes', async () => {
    const id = `kill-${randomUUID()}`;
    await submitDag(a, key, {
      id,
      name: 'kill',
      jobs: [
        {
          id: 'k',
          name: '/hang',
          executor: 'py',
          retryLimit: 2,
          retryDelay: 0,
          data: { parameters: { seconds: 60, hangTries: 1 } },
        },
      ],
    });
    const victim = await startedOn('k-1');
    const survivor = victim === pyA ? pyB : pyA;
    await killPython(victim);
    const d = await waitForDag(a, key, id, ['COMPLETED', 'FAILED'], 60_000);
    expect(d.state).toBe('COMPLETED');
    const j = jobOf(d, 'k');
    expect(j.tryNumber).toBe(2);
    expect(j.attempts.map((x) => x.outcome)).toEqual(['FAILED', 'SUCCEEDED']);
    expect(j.attempts[0].error).toMatch(/unreachable or went away|went away mid-answer/);
    expect((j.output as { server: string }).server).toBe(survivor === pyA ? 'py-a' : 'py-b');
    // Back on its port for the tests that follow; its worker resumes once it answers.
    const name = victim === pyA ? 'py-a' : 'py-b';
    const restarted = await startPython(PY_EXECUTORS, { port: victim.port, out: victim.out, args: [name] });
    if (victim === pyA) pyA = restarted;
    else pyB = restarted;
  }, 120_000);

  it('cancelJob mid-call: the handler sees ctx.cancelled within 1 s, and its later writes are CONFLICT', async () => {
    const id = `cancel-${randomUUID()}`;
    await submitDag(a, key, {
      id,
      name: 'cancel',
      jobs: [{ id: 'c', name: '/hang', executor: 'py', data: { parameters: { seconds: 60 } } }],
    });
    const on = await startedOn('c-1');
    const cancelledAt = Date.now() / 1000;
    const res = ok(
      await a.gql<{ cancelJob: { state: string } }>(
        'mutation ($d: ID!) { cancelJob(dagId: $d, taskId: "c") { state } }',
        { d: id },
        key,
      ),
    );
    expect(res.cancelJob.state).toBe('CANCELLED');
    const seen = await readNote<{ at: number; codes: Record<string, string> }>(on, 'c-1.cancelled.json');
    expect(seen.at - cancelledAt).toBeLessThan(1);
    expect(seen.codes).toEqual({ setTaskState: 'CONFLICT', recordMaterializations: 'CONFLICT' });
    const d = await waitForDag(a, key, id, ['CANCELLED', 'FAILED', 'COMPLETED'], 30_000);
    expect(jobOf(d, 'c').state).toBe('CANCELLED');
  }, 120_000);

  it('the token the worker really sent: replayed after its attempt ended → CONFLICT; for another DAG or submitDag → FORBIDDEN', async () => {
    const id = `token-${randomUUID()}`;
    const other = `other-${randomUUID()}`;
    await submitDag(a, key, {
      id: other,
      name: 'other',
      jobs: [{ id: 'o', name: 'o', executor: 'noop', data: { state: { SECRET: 's3cret' } } }],
    });
    await submitDag(a, key, { id, name: 'token', jobs: [{ id: 'e', name: '/echo', executor: 'py' }] });
    const d = await waitForDag(a, key, id, ['COMPLETED', 'FAILED'], 60_000);
    expect(d.state).toBe('COMPLETED');
    await waitForDag(a, key, other, ['COMPLETED'], 60_000);
    const call = await waitFor(
      async () => [pyA, pyB].map((p) => noteNow<{ token: string }>(p, 'e-1.call.json')).find(Boolean),
      30_000,
      'the call note of e-1',
    );
    const token = call.token;
    expect(token).toMatch(/^mat_/);

    // Its own task, its own try, after the attempt ended: fenced.
    const own = { dagId: id, taskId: 'e', tryNumber: 1, key: 'LATE', value: 1 };
    expect(codeOf(await a.gql(SET_STATE, { i: own }, token))).toBe('CONFLICT');
    expect(codeOf(await a.gql('mutation { reportProgress(percent: 5) }', {}, token))).toBe('CONFLICT');
    // Reads of its own DAG still answer until it expires.
    const mine = await a.gql<{ taskState: unknown[] }>(TASK_STATE, { d: id, t: 'e' }, token);
    expect(mine.errors).toBeUndefined();

    // Another DAG's state, and anything that is not its attempt's: refused.
    const theirs = await a.gql(TASK_STATE, { d: other, t: 'o' }, token);
    expect(codeOf(theirs)).toBe('FORBIDDEN');
    const nested = await a.gql(`query ($d: ID!) { dag(id: $d) { jobs { taskState { key } } } }`, { d: other }, token);
    expect(codeOf(nested)).toBe('FORBIDDEN');
    expect(codeOf(await a.gql(SET_STATE, { i: { ...own, dagId: other, taskId: 'o' } }, token))).toBe('FORBIDDEN');
    const submit = await a.gql(
      SUBMIT,
      { input: { id: `evil-${randomUUID()}`, name: 'evil', jobs: [{ id: 'x', name: 'x', executor: 'noop' }] } },
      token,
    );
    expect(codeOf(submit)).toBe('FORBIDDEN');
  }, 120_000);
});
