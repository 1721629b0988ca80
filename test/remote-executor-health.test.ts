import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorInvoker } from '../src/core/executor-call';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import {
  disposePython,
  FAKE_SMI,
  freePort,
  PY_EXECUTORS,
  remoteOf,
  startPython,
  startRemoteWorker,
  type PyServer,
} from './support/python-remote';
import { ok, startTestApp, type TestApp } from './support/test-app';

// The api and scheduler in one app; each test starts workers whose remotes it controls.
const suffix = randomBytes(3).toString('hex');
let api: TestApp;
let key: string;
const workers: TestApp[] = [];
const pythons: PyServer[] = [];

beforeAll(async () => {
  api = await startTestApp({ roles: ['api', 'scheduler'], env: { EXECUTOR_STATUS_TIMEOUT_MS: '700' } });
  ({ key } = await api.tenant('admin'));
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  await api?.stop();
  await Promise.all(pythons.map((p) => disposePython(p)));
});

async function worker(id: string, executors: ExecutorInvoker[]): Promise<TestApp> {
  const w = await startRemoteWorker(api, id, executors);
  workers.push(w);
  return w;
}

async function python(opts: Parameters<typeof startPython>[1]): Promise<PyServer> {
  const p = await startPython(PY_EXECUTORS, opts);
  pythons.push(p);
  return p;
}

const JOB = `query ($d: ID!, $t: String!) { job(dagId: $d, taskId: $t) { state output attempts { workerId outcome } } }`;
interface JobView {
  state: string;
  output: { server?: string } | null;
  attempts: Array<{ workerId: string | null; outcome: string }>;
}
const jobView = async (dagId: string, taskId: string) =>
  ok(await api.gql<{ job: JobView }>(JOB, { d: dagId, t: taskId }, key)).job;

const WORKERS = `{ workers { id executors healthy gpus { index name memoryTotalMiB } } }`;
interface WorkerRow {
  id: string;
  executors: string[];
  healthy: boolean;
  gpus: Array<{ index: number; name: string; memoryTotalMiB: number }>;
}
const workerRows = async () => ok(await api.gql<{ workers: WorkerRow[] }>(WORKERS, {}, key)).workers;

const getJson = async (p: string) => {
  const res = await fetch(api.url.replace(/\/graphql$/, p), { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('remote executor health', () => {
  it('an unreachable remote pauses its queue on the worker (the job stays queued; status routes show it) and resumes when it is back', async () => {
    const port = await freePort();
    const id = `down-${suffix}`;
    const exec = `pyd-${suffix}`;
    await worker(id, [remoteOf(exec, `http://127.0.0.1:${port}`)]);
    const dagId = `down-${randomUUID()}`;
    await submitDag(api, key, { id: dagId, name: 'down', jobs: [{ id: 'j', name: '/echo', executor: exec }] });
    await sleep(1_500);
    const waiting = await jobView(dagId, 'j');
    expect(waiting.attempts).toEqual([]);
    expect(waiting.state).not.toBe('COMPLETED');

    // Only that executor is paused: the worker is healthy and still runs noop.
    const row = (await workerRows()).find((w) => w.id === id);
    expect(row).toMatchObject({ healthy: true, executors: ['noop', exec], gpus: [] });
    const status = await getJson(`/api/executors/${exec}/status`);
    expect(status.status).toBe(503);
    expect(status.body).toMatchObject({
      executor: exec,
      workerId: id,
      status: 'unhealthy',
      remote: { url: `http://127.0.0.1:${port}`, protocol: 'sdk', reachable: false, healthy: false },
    });
    const deployment = await getJson('/api/deployment-status');
    const entry = (deployment.body.executors as Array<Record<string, unknown>>).find((e) => e.name === exec);
    expect(entry).toMatchObject({
      status: 'unhealthy',
      healthyWorkers: 0,
      workers: [{ id, healthy: false, remote: { reachable: false, healthy: false } }],
    });

    // The remote comes up on that port: the queue resumes and the job runs.
    await python({ port, args: ['back'] });
    const d = await waitForDag(api, key, dagId, ['COMPLETED', 'FAILED'], 30_000);
    expect(d.state).toBe('COMPLETED');
    expect(await jobView(dagId, 'j')).toMatchObject({
      output: { server: 'back' },
      attempts: [{ workerId: id, outcome: 'SUCCEEDED' }],
    });
    const after = await waitFor(
      async () => {
        const s = await getJson(`/api/executors/${exec}/status`);
        return s.status === 200 ? s : null;
      },
      15_000,
      'the executor status to say ok',
    );
    expect(after.body).toMatchObject({ status: 'ok', remote: { reachable: true, healthy: true, executors: ['back'] } });
  }, 120_000);

  it('GPU routing: requiresGpu jobs run only on the worker whose remote reports a GPU (stand-in nvidia-smi)', async () => {
    const exec = `pyg-${suffix}`;
    const [gpuSide, cpuSide] = await Promise.all([
      python({ args: ['gpu-side'], env: { NVIDIA_SMI_PATH: FAKE_SMI } }),
      python({ args: ['cpu-side'] }),
    ]);
    const gpuId = `rgpu-${suffix}`;
    const cpuId = `rcpu-${suffix}`;
    await worker(cpuId, [remoteOf(exec, cpuSide.url)]);
    await worker(gpuId, [remoteOf(exec, gpuSide.url)]);
    const rows = await waitFor(
      async () => {
        const r = await workerRows();
        return r.some((w) => w.id === gpuId) && r.some((w) => w.id === cpuId) ? r : null;
      },
      15_000,
      'both workers in `workers`',
    );
    expect(rows.find((w) => w.id === gpuId)?.gpus).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559 },
    ]);
    expect(rows.find((w) => w.id === cpuId)?.gpus).toEqual([]);

    const dagId = `gpu-${randomUUID()}`;
    const jobs = [1, 2, 3, 4].map((n) => ({ id: `g${n}`, name: '/echo', executor: exec, requiresGpu: true }));
    await submitDag(api, key, { id: dagId, name: 'gpu-routing', jobs });
    const d = await waitForDag(api, key, dagId, ['COMPLETED', 'FAILED'], 30_000);
    expect(d.state).toBe('COMPLETED');
    for (const n of [1, 2, 3, 4]) {
      expect(await jobView(dagId, `g${n}`)).toMatchObject({
        output: { server: 'gpu-side' },
        attempts: [{ workerId: gpuId, outcome: 'SUCCEEDED' }],
      });
    }
    const status = await getJson(`/api/executors/${exec}/status`);
    expect(status.status).toBe(200);
    const deployment = await getJson('/api/deployment-status');
    const entry = (deployment.body.executors as Array<Record<string, unknown>>).find((e) => e.name === exec);
    expect(entry).toMatchObject({ status: 'ok', healthyWorkers: 2, gpus: 1 });
  }, 120_000);
});
