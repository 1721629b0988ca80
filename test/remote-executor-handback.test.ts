import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteExecutor } from '../src/worker/remote';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import {
  disposePython,
  freePort,
  killPython,
  PY_EXECUTORS,
  readNote,
  remoteOf,
  startPython,
  startRemoteWorker,
  type PyServer,
} from './support/python-remote';
import { ok, startTestApp, type TestApp } from './support/test-app';

// A remote that did not start a job, and is down when the worker looks, gets the job handed
// back (the same try, to its queue) instead of a failed attempt. Each worker's remote checks
// its status only when told to (statusIntervalSeconds 3600), so what the worker sees of the
// remote is the call's answer and the check that follows it, not a periodic one.
const suffix = randomBytes(3).toString('hex');
let api: TestApp;
let key: string;
const workers: TestApp[] = [];
const pythons: PyServer[] = [];

beforeAll(async () => {
  api = await startTestApp({ roles: ['api', 'scheduler'] });
  ({ key } = await api.tenant('admin'));
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  await api?.stop();
  await Promise.all(pythons.map((p) => disposePython(p)));
});

async function python(port: number, name: string): Promise<PyServer> {
  const p = await startPython(PY_EXECUTORS, { port, args: [name] });
  pythons.push(p);
  return p;
}

/** A worker whose one executor is `remote`; it is healthy at its start. */
async function worker(id: string, remote: RemoteExecutor): Promise<void> {
  workers.push(await startRemoteWorker(api, id, [remote]));
  expect(remote.healthy).toBe(true);
}

const JOB = `query ($d: ID!, $t: String!) { job(dagId: $d, taskId: $t) { state tryNumber output attempts { workerId outcome error } } }`;
interface JobView {
  state: string;
  tryNumber: number;
  output: { server?: string } | null;
  attempts: Array<{ workerId: string | null; outcome: string; error: string | null }>;
}
const jobView = async (dagId: string, taskId: string) =>
  ok(await api.gql<{ job: JobView }>(JOB, { d: dagId, t: taskId }, key)).job;

/** Submit one job on `exec` that may not fail even once (retryLimit 0). */
async function oneJob(exec: string, name: string, parameters: Record<string, unknown> = {}): Promise<string> {
  const dagId = `${name.replace('/', '')}-${randomUUID()}`;
  await submitDag(api, key, {
    id: dagId,
    name: 'hand-back',
    jobs: [{ id: 'j', name, executor: exec, retryLimit: 0, data: { parameters } }],
  });
  return dagId;
}

const firstAttempt = (dagId: string) =>
  waitFor(
    async () => {
      const j = await jobView(dagId, 'j');
      // An attempt shows as RUNNING from its start until it ends: wait for the end.
      return j.attempts.length > 0 && j.attempts.every((a) => a.outcome !== 'RUNNING') ? j : null;
    },
    20_000,
    'the first attempt to end',
  );

describe('remote executor: a job it never started goes back, its try unspent', () => {
  it('a refused connection (the remote died since its last check): handed back, then run once it is back', async () => {
    const port = await freePort();
    const exec = `pyr-${suffix}`;
    const remote = remoteOf(exec, `http://127.0.0.1:${port}`, { statusIntervalSeconds: 3600 });
    const first = await python(port, 'first');
    await worker(`refused-${suffix}`, remote);
    await killPython(first); // the worker has not looked since: its queue still runs
    // The idle connection of its start's status check is closed too (the remote's FIN seen),
    // so the call opens a new connection, which is refused. (A call on a connection that
    // breaks may have reached the remote: that is a failed attempt, never a hand-back.)
    const agent = (remote as unknown as { agent: http.Agent }).agent;
    await waitFor(async () => Object.keys(agent.freeSockets).length === 0, 5_000, 'the idle connection to close');

    const dagId = await oneJob(exec, '/echo');
    const handed = await firstAttempt(dagId);
    expect(handed.attempts).toEqual([
      { workerId: `refused-${suffix}`, outcome: 'HANDED_BACK', error: expect.stringContaining('ECONNREFUSED') },
    ]);
    expect(handed.state).not.toBe('FAILED');
    expect(remote.healthy).toBe(false); // the check after the refusal paused its queue

    await python(port, 'back');
    await remote.checkNow();
    const d = await waitForDag(api, key, dagId, ['COMPLETED', 'FAILED'], 30_000);
    expect(d.state).toBe('COMPLETED');
    expect(await jobView(dagId, 'j')).toMatchObject({
      tryNumber: 1,
      output: { server: 'back' },
      attempts: [{ outcome: 'HANDED_BACK' }, { workerId: `refused-${suffix}`, outcome: 'SUCCEEDED' }],
    });
  }, 120_000);

  it('a draining remote (SIGTERM): its running call ends with its output, a new one is handed back on 503', async () => {
    const port = await freePort();
    const exec = `pyd-${suffix}`;
    const remote = remoteOf(exec, `http://127.0.0.1:${port}`, { statusIntervalSeconds: 3600 });
    const first = await python(port, 'first');
    await worker(`draining-${suffix}`, remote);

    const running = await oneJob(exec, '/hang', { seconds: 3 });
    await readNote(first, 'j-1.started.json');
    process.kill(first.proc.pgid, 'SIGTERM');
    await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/_marie/status`).catch(() => null);
        return res && ((await res.json()) as { draining?: boolean }).draining === true;
      },
      10_000,
      () => `the remote to say it is draining:\n${first.proc.output()}`,
    );

    const next = await oneJob(exec, '/echo');
    const handed = await firstAttempt(next);
    expect(handed.attempts).toEqual([
      { workerId: `draining-${suffix}`, outcome: 'HANDED_BACK', error: expect.stringContaining('503') },
    ]);
    expect(handed.state).not.toBe('FAILED');

    // The call that was running when the signal came ends with its output; then the process exits.
    const done = await waitForDag(api, key, running, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.state).toBe('COMPLETED');
    expect(await jobView(running, 'j')).toMatchObject({
      output: { server: 'first' },
      attempts: [{ outcome: 'SUCCEEDED' }],
    });
    expect(await first.proc.exited).toMatchObject({ code: 0 });

    await python(port, 'next');
    await remote.checkNow();
    const d = await waitForDag(api, key, next, ['COMPLETED', 'FAILED'], 30_000);
    expect(d.state).toBe('COMPLETED');
    expect(await jobView(next, 'j')).toMatchObject({
      tryNumber: 1,
      output: { server: 'next' },
      attempts: [{ outcome: 'HANDED_BACK' }, { outcome: 'SUCCEEDED' }],
    });
  }, 120_000);

  it('a 503 from a remote whose status still says healthy is a failed attempt: no job goes round', async () => {
    const port = await freePort();
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const [code, body] =
          req.method === 'GET'
            ? [200, { executors: ['busy'], gpus: [], healthy: true, codeVersion: null }]
            : [503, { error: { message: 'overloaded', nonRetryable: false } }];
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    try {
      const exec = `pyb-${suffix}`;
      const remote = remoteOf(exec, `http://127.0.0.1:${port}`, { statusIntervalSeconds: 3600 });
      await worker(`busy-${suffix}`, remote);
      const dagId = await oneJob(exec, '/echo');
      const d = await waitForDag(api, key, dagId, ['COMPLETED', 'FAILED'], 30_000);
      expect(d.state).toBe('FAILED');
      expect((await jobView(dagId, 'j')).attempts).toEqual([
        { workerId: `busy-${suffix}`, outcome: 'FAILED', error: expect.stringContaining('503: overloaded') },
      ]);
      expect(remote.healthy).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);
});
