import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOf, submitDag, waitForDag } from './support/dag-helpers';
import { ok, startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
let key: string;

beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'] });
  key = (await t.tenant('submitter')).key;
});
afterAll(async () => {
  await t?.stop();
});

const TASK_STATE = `query ($d: ID!, $t: String!, $n: Int) { taskState(dagId: $d, taskId: $t, tryNumber: $n) { key value tryNumber } }`;

describe('task state through DAG runs', () => {
  it('a retried task starts clean: downstream reads the second try, and nothing of the first is left', async () => {
    const id = `state-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'ocr-state',
      jobs: [
        {
          id: 'ocr',
          name: 'ocr',
          executor: 'noop',
          retryLimit: 1,
          data: {
            failTimes: 1,
            state: { PAGES: 3 },
            stateByTry: { '1': { OCR_LINES: ['first try'], ONLY_FIRST: true }, '2': { OCR_LINES: ['second try'] } },
          },
        },
        {
          id: 'classify',
          name: 'classify',
          executor: 'noop',
          dependencies: ['ocr'],
          data: { pullState: { key: 'OCR_LINES', fromTasks: ['ocr'] } },
        },
      ],
    });
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED']);
    expect(d.state).toBe('COMPLETED');
    expect(jobOf(d, 'ocr').tryNumber).toBe(2);
    expect(jobOf(d, 'classify').output).toEqual(['second try']);
    const latest = ok(
      await t.gql<{ taskState: Array<{ key: string; value: unknown; tryNumber: number }> }>(
        TASK_STATE,
        { d: id, t: 'ocr' },
        key,
      ),
    );
    expect(latest.taskState).toEqual([
      { key: 'OCR_LINES', value: ['second try'], tryNumber: 2 },
      { key: 'PAGES', value: 3, tryNumber: 2 },
    ]);
    const first = ok(await t.gql<{ taskState: unknown[] }>(TASK_STATE, { d: id, t: 'ocr', n: 1 }, key));
    expect(first.taskState).toEqual([]);
    // Job.taskState shows the same, through its loader.
    const viaJob = ok(
      await t.gql<{ job: { taskState: Array<{ key: string }> } }>(
        `query ($d: ID!) { job(dagId: $d, taskId: "ocr") { taskState { key tryNumber } } }`,
        { d: id },
        key,
      ),
    );
    expect(viaJob.job.taskState.map((e) => e.key)).toEqual(['OCR_LINES', 'PAGES']);
  });

  it('an aggregator pulls from three processors in the order it gives and gets the first that set the key', async () => {
    const id = `fanin-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'fan-in',
      jobs: [
        { id: 'p1', name: 'p1', executor: 'noop', data: { state: { OTHER: 1 } } },
        { id: 'p2', name: 'p2', executor: 'noop', data: { state: { RESULT: 'from p2' } } },
        { id: 'p3', name: 'p3', executor: 'noop', data: { state: { RESULT: 'from p3' } } },
        {
          id: 'agg',
          name: 'agg',
          executor: 'noop',
          dependencies: ['p1', 'p2', 'p3'],
          data: { pullState: { key: 'RESULT', fromTasks: ['p1', 'p3', 'p2'] } },
        },
      ],
    });
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED']);
    expect(d.state).toBe('COMPLETED');
    expect(jobOf(d, 'agg').output).toBe('from p3');
  });

  it('refuses a write from an attempt that is not current', async () => {
    const id = `stale-${randomUUID()}`;
    await submitDag(t, key, { id, name: 'stale', jobs: [{ id: 'a', name: 'a', executor: 'noop' }] });
    await waitForDag(t, key, id, ['COMPLETED']);
    const exec = await t.tenant('executor');
    // Another tenant's executor cannot see the DAG at all; our own gets CONFLICT (the job is not ACTIVE).
    const set = `mutation ($d: ID!) { setTaskState(input: { dagId: $d, taskId: "a", tryNumber: 1, key: "K", value: 1 }) { key } }`;
    expect((await t.gql(set, { d: id }, exec.key)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const ownExec = await t.app.services.apiKeys.create(
      (await t.app.services.apiKeys.authenticate(key))!.tenantId,
      'exec',
      'executor',
    );
    expect((await t.gql(set, { d: id }, ownExec.key)).errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });
});
