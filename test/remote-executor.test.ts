import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeAssetVersion } from '../src/sdk/index';
import { jobOf, submitDag, waitForDag } from './support/dag-helpers';
import {
  disposePython,
  noteNow,
  PY_EXECUTORS,
  PY_GATEWAY,
  readNote,
  remoteOf,
  startPython,
  type PyServer,
} from './support/python-remote';
import { ok, startTestApp, type TestApp } from './support/test-app';

// A DAG through submitDag on a worker whose `py` executor is a Python process (marie_cp),
// and a `gw` executor speaking the Marie-AI gateway's body.
let py: PyServer;
let gw: PyServer;
let t: TestApp;
let key: string;

beforeAll(async () => {
  [py, gw] = await Promise.all([startPython(PY_EXECUTORS), startPython(PY_GATEWAY)]);
  t = await startTestApp({
    roles: ['api', 'scheduler', 'worker'],
    executors: [remoteOf('py', py.url), remoteOf('gw', gw.url, { protocol: 'marie' })],
  });
  ({ key } = await t.tenant('admin'));
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await Promise.all([disposePython(py), disposePython(gw)]);
});

const V = (c: string) => `v:sha256:${c.repeat(64)}`;

describe('remote executors (sdk protocol, Python SDK)', () => {
  it('a DAG with a Python task completes: it reads the upstream TS task state and records materializations whose versions Python computed', async () => {
    const id = `remote-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'two-languages',
      jobs: [
        {
          id: 'ts',
          name: 'ocr',
          executor: 'noop',
          data: { state: { TEXT: 'hello from ts' }, materialize: [{ assetKey: 'remote/ocr-text', version: V('a') }] },
        },
        {
          id: 'pyt',
          name: '/pipeline',
          executor: 'py',
          dependencies: ['ts'],
          data: { parameters: { assetKey: 'remote/py-out', fromTask: 'ts' } },
        },
      ],
    });
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 60_000);
    expect(d.state).toBe('COMPLETED');
    const out = jobOf(d, 'pyt').output as { text: string; version: string; server: string };
    expect(out.text).toBe('hello from ts');
    // The version Python computed (FRAMED) is the one TypeScript computes for the same inputs.
    const expected = computeAssetVersion({
      payload: Buffer.from('hello from ts|pyt'),
      codeFingerprint: 'git:py-test',
      upstreamVersions: [V('a')],
    });
    expect(out.version).toBe(expected);

    const q = ok(
      await t.gql<{
        job: {
          materializations: Array<{ assetKey: string; version: string; nodeTaskId: string; kind: string | null }>;
          taskState: Array<{ key: string; value: unknown }>;
          progressPercent: number | null;
          progressMessage: string | null;
        };
        asset: { key: string; upstream: Array<{ key: string }> } | null;
      }>(
        `query ($d: ID!) { job(dagId: $d, taskId: "pyt") { materializations { assetKey version nodeTaskId kind }
           taskState { key value } progressPercent progressMessage }
           asset(key: "remote/py-out") { key upstream { key } } }`,
        { d: id },
        key,
      ),
    );
    expect(q.job.materializations).toEqual([
      { assetKey: 'remote/py-out', version: expected, nodeTaskId: 'pyt', kind: 'json' },
    ]);
    expect(q.asset?.upstream.map((a) => a.key)).toEqual(['remote/ocr-text']);
    expect(q.job.taskState).toEqual([{ key: 'SEEN', value: 'hello from ts' }]);
    // The NDJSON progress line reached the job, as reportProgress would.
    expect(q.job.progressMessage).toBe('half way');

    // What the worker sent: DESIGN's context, a Bearer attempt token, the api's URL.
    const call = await readNote<{ token: string; context: Record<string, unknown> }>(py, 'pyt-1.call.json');
    expect(call.token).toMatch(/^mat_/);
    expect(call.context).toMatchObject({
      dagId: id,
      dagName: 'two-languages',
      taskId: 'pyt',
      tryNumber: 1,
      partitionKey: null,
      endpoint: '/pipeline',
      apiUrl: t.url,
      upstream: [{ assetKey: 'remote/ocr-text', version: V('a'), nodeTaskId: 'ts' }],
    });
    expect(Date.parse(String(call.context.deadline))).toBeGreaterThan(Date.now());
  }, 90_000);

  it('a remote answering 500 twice and then a result: try 3 completes', async () => {
    const id = `flaky-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'flaky',
      jobs: [
        {
          id: 'f',
          name: 'flaky',
          executor: 'py',
          retryLimit: 3,
          retryDelay: 0,
          data: { parameters: { failTimes: 2 } },
        },
      ],
    });
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 60_000);
    expect(d.state).toBe('COMPLETED');
    const j = jobOf(d, 'f');
    expect(j.tryNumber).toBe(3);
    expect(j.output).toEqual({ calls: 3, server: 'py' });
    expect(j.attempts.map((a) => a.outcome)).toEqual(['FAILED', 'FAILED', 'SUCCEEDED']);
    expect(j.attempts[0].error).toMatch(/answered 500: flaky: call 1 fails/);
  }, 90_000);

  it('an endpoint the remote does not serve (404) ends FAILED at once, after one attempt', async () => {
    const id = `missing-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'missing',
      jobs: [{ id: 'm', name: '/no-such-endpoint', executor: 'py', retryLimit: 5, retryDelay: 0 }],
    });
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 60_000);
    expect(d.state).toBe('FAILED');
    const j = jobOf(d, 'm');
    expect(j.state).toBe('FAILED');
    expect(j.attempts).toHaveLength(1);
    expect(j.error).toMatch(/answered 404: no endpoint \/no-such-endpoint/);
  }, 90_000);
});

describe('remote executors (marie protocol)', () => {
  it("sends Marie-AI's gateway body and takes the answer's data as the output", async () => {
    const id = `marie-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'marie',
      jobs: [
        {
          id: 'g',
          name: '/document/extract',
          executor: 'gw',
          data: { data: [{ text: 'abc' }, { text: 'de' }], parameters: { queue_id: 'q1' } },
        },
      ],
    });
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 60_000);
    expect(d.state).toBe('COMPLETED');
    const j = jobOf(d, 'g');
    expect(j.output).toEqual({ docs: 2, texts: ['ABC', 'DE'] });
    const req = noteNow<{ path: string; body: Record<string, unknown>; authorization: string | null }>(
      gw,
      'marie-request.json',
    );
    expect(req).toEqual({
      path: '/document/extract',
      body: {
        data: [{ text: 'abc' }, { text: 'de' }],
        parameters: { queue_id: 'q1' },
        header: { request_id: expect.stringMatching(/^[0-9a-f-]{36}\.1\.1$/) as unknown },
      },
      authorization: null,
    });
  }, 90_000);
});
