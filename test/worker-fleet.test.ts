import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Executor, ExecutorHost, requests, type CallContext, type ExecutorInput } from '../src/sdk/index';
import type { ExecutorInvoker } from '../src/core/executor-call';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { ok, startTestApp, type TestApp } from './support/test-app';

const FAKE_SMI = path.resolve(__dirname, 'fixtures/bin/nvidia-smi');
const suffix = randomBytes(3).toString('hex');
/** Executor names of this file only, so no other worker consumes their queues. */
const ROUTED = `routed-${suffix}`;
const PROGRESS = `progress-${suffix}`;
const FLAKY = `flaky-gpu-${suffix}`;

let gate: () => void = () => undefined;
const released = new Promise<void>((r) => (gate = r));

/** Reports 40 % and waits until the test lets it finish. */
class ProgressExecutor extends Executor {
  @requests({ on: '/work' })
  async work(_input: ExecutorInput, ctx: CallContext) {
    await ctx.progress(40, 'half');
    await released;
    return { done: true };
  }
}

const routed = (): ExecutorInvoker => ({
  name: ROUTED,
  concurrency: 2,
  invoke: async (_data, ctx) => ({ ranOn: ctx.jobId }),
});

let api: TestApp;
let cpu: TestApp;
let gpu: TestApp | null = null;
let flaky: TestApp | null = null;
let tmp: string;
let reader: string;
let submitter: string;

const workerEnv = (id: string, smi: string) => ({ WORKER_ID: id, NVIDIA_SMI_PATH: smi, WORKER_GRACE_MS: '200' });
const cpuId = `cpu-${suffix}`;
const gpuId = `gpu-${suffix}`;
const flakyId = `flaky-${suffix}`;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-fleet-'));
  api = await startTestApp({ roles: ['api', 'scheduler'], env: { EXECUTOR_STATUS_TIMEOUT_MS: '700' } });
  cpu = await startTestApp({
    roles: ['worker'],
    env: workerEnv(cpuId, path.join(tmp, 'missing', 'nvidia-smi')),
    executors: [routed(), new ExecutorHost(new ProgressExecutor({ metas: { name: PROGRESS } }), { concurrency: 1 })],
  });
  ({ key: reader } = await api.tenant('reader'));
  ({ key: submitter } = await api.tenant('submitter'));
});
afterAll(async () => {
  gate();
  await Promise.allSettled([cpu?.stop(), gpu?.stop(), flaky?.stop()]);
  await api?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const JOB = `query ($dagId: ID!, $taskId: String!) { job(dagId: $dagId, taskId: $taskId) {
  state progressPercent progressMessage attempts { workerId outcome } } }`;
interface JobView {
  state: string;
  progressPercent: number | null;
  progressMessage: string | null;
  attempts: Array<{ workerId: string | null; outcome: string }>;
}
const jobView = async (key: string, dagId: string, taskId: string) =>
  ok(await api.gql<{ job: JobView }>(JOB, { dagId, taskId }, key)).job;

const WORKERS = `{ workers { id executors healthy concurrency activeJobs gpus { index name memoryTotalMiB } } }`;
interface WorkerRow {
  id: string;
  executors: string[];
  healthy: boolean;
  concurrency: number;
  activeJobs: number;
  gpus: Array<{ index: number; name: string; memoryTotalMiB: number }>;
}
const workers = async () => ok(await api.gql<{ workers: WorkerRow[] }>(WORKERS, {}, reader)).workers;

const restUrl = (p: string) => api.url.replace(/\/graphql$/, p);
const getJson = async (p: string, key?: string) => {
  const res = await fetch(restUrl(p), { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('GPU routing (stand-in nvidia-smi)', () => {
  it('a requiresGpu job waits while only a GPU-less worker is up, then runs on the worker that has a GPU, and only there', async () => {
    const dagId = `gpu-${randomUUID()}`;
    const jobs = [
      ...[1, 2, 3].map((n) => ({ id: `g${n}`, name: 'run', executor: ROUTED, requiresGpu: true })),
      ...[1, 2, 3].map((n) => ({ id: `c${n}`, name: 'run', executor: ROUTED })),
    ];
    await submitDag(api, submitter, { id: dagId, name: 'gpu-routing', jobs });
    // The GPU-less worker runs the plain jobs and never the GPU ones.
    for (const n of [1, 2, 3]) {
      await waitFor(async () => (await jobView(submitter, dagId, `c${n}`)).state === 'COMPLETED', 15_000, `c${n}`);
    }
    await sleep(1_000);
    for (const n of [1, 2, 3]) {
      const g = await jobView(submitter, dagId, `g${n}`);
      expect(g.state).not.toBe('COMPLETED');
      expect(g.attempts).toEqual([]);
    }

    gpu = await startTestApp({ roles: ['worker'], env: workerEnv(gpuId, FAKE_SMI), executors: [routed()] });
    const d = await waitForDag(api, submitter, dagId, ['COMPLETED', 'FAILED'], 20_000);
    expect(d.state).toBe('COMPLETED');
    for (const n of [1, 2, 3]) {
      expect((await jobView(submitter, dagId, `g${n}`)).attempts).toEqual([{ workerId: gpuId, outcome: 'SUCCEEDED' }]);
    }
  });

  it('`workers` shows each worker with its GPUs, executors, concurrency and health', async () => {
    expect(gpu, 'the GPU worker of the test before').not.toBeNull();
    const rows = await workers();
    const g = rows.find((w) => w.id === gpuId);
    const c = rows.find((w) => w.id === cpuId);
    expect(g).toMatchObject({
      healthy: true,
      gpus: [{ index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559 }],
      executors: ['noop', ROUTED],
      concurrency: 8 + 2,
    });
    expect(c).toMatchObject({ healthy: true, gpus: [], executors: ['noop', ROUTED, PROGRESS] });
  });

  it('a worker whose GPU health check fails shows healthy: false and takes no jobs until it passes again', async () => {
    // A stand-in that fails while the "broken" file exists.
    const smi = path.join(tmp, 'flaky-nvidia-smi');
    const broken = path.join(tmp, 'broken');
    await writeFile(
      smi,
      `#!/bin/sh\nif [ -f '${broken}' ]; then echo 'NVIDIA-SMI has failed' >&2; exit 9; fi\necho '0, NVIDIA A10G, 23028, 0, 0'\n`,
    );
    await chmod(smi, 0o755);
    await writeFile(broken, '');
    flaky = await startTestApp({
      roles: ['worker'],
      env: workerEnv(flakyId, smi),
      executors: [{ name: FLAKY, concurrency: 1, invoke: async () => ({ ok: true }) }],
    });
    const dagId = `flaky-${randomUUID()}`;
    await submitDag(api, submitter, { id: dagId, name: 'flaky', jobs: [{ id: 'a', name: 'run', executor: FLAKY }] });
    await sleep(1_200); // four heartbeats
    expect((await workers()).find((w) => w.id === flakyId)).toMatchObject({ healthy: false });
    const waiting = await jobView(submitter, dagId, 'a');
    expect(waiting.attempts).toEqual([]);
    expect(waiting.state).not.toBe('COMPLETED');
    const status = await getJson(`/api/executors/${FLAKY}/status`, reader);
    expect(status).toMatchObject({ status: 503, body: { executor: FLAKY, workerId: flakyId, status: 'unhealthy' } });

    await unlink(broken);
    const d = await waitForDag(api, submitter, dagId, ['COMPLETED', 'FAILED'], 15_000);
    expect(d.state).toBe('COMPLETED');
    expect((await jobView(submitter, dagId, 'a')).attempts).toEqual([{ workerId: flakyId, outcome: 'SUCCEEDED' }]);
    expect((await workers()).find((w) => w.id === flakyId)).toMatchObject({
      healthy: true,
      gpus: [{ name: 'NVIDIA A10G' }],
    });
  });

  it('a stopped worker leaves `workers`, and a silent one drops out after WORKER_STALE_MS', async () => {
    await flaky!.stop();
    flaky = null;
    expect((await workers()).map((w) => w.id)).not.toContain(flakyId);
    // A row nobody refreshes (a worker that died without saying so).
    const ghost = `ghost-${suffix}`;
    await api.app.services.ds.query(
      `INSERT INTO workers (id, hostname, executors, gpus, concurrency, active_jobs, healthy, started_at, last_seen_at)
       VALUES ($1, 'h', '{x}', '[]', 1, 0, true, now(), now() - interval '4 seconds')`,
      [ghost],
    );
    expect((await workers()).map((w) => w.id)).not.toContain(ghost);
    await api.app.services.ds.query(`UPDATE workers SET last_seen_at = now() WHERE id = $1`, [ghost]);
    expect((await workers()).map((w) => w.id)).toContain(ghost);
    await api.app.services.ds.query(`DELETE FROM workers WHERE id = $1`, [ghost]);
  });
});

describe('progress', () => {
  it('ctx.progress(40, "half") reads as Job.progressPercent 40 while the job runs', async () => {
    const dagId = `progress-${randomUUID()}`;
    await submitDag(api, submitter, {
      id: dagId,
      name: 'progress',
      jobs: [{ id: 'p', name: '/work', executor: PROGRESS }],
    });
    const running = await waitFor(
      async () => {
        const j = await jobView(submitter, dagId, 'p');
        return j.progressPercent === 40 ? j : null;
      },
      15_000,
      'progress 40',
    );
    expect(running).toMatchObject({ state: 'ACTIVE', progressPercent: 40, progressMessage: 'half' });
    gate();
    const d = await waitForDag(api, submitter, dagId, ['COMPLETED', 'FAILED']);
    expect(d.state).toBe('COMPLETED');
  });
});

describe('health routes', () => {
  it('GET /api/executors/:name/status is answered by a live worker hosting it', async () => {
    const res = await getJson(`/api/executors/${PROGRESS}/status`, reader);
    expect(res).toEqual({
      status: 200,
      body: { executor: PROGRESS, workerId: cpuId, status: 'ok', activeJobs: 0, concurrency: 1, gpus: [], replicas: 1 },
    });
    const routedStatus = await getJson(`/api/executors/${ROUTED}/status`, reader);
    expect(routedStatus.status).toBe(200);
    expect([cpuId, gpuId]).toContain(routedStatus.body.workerId);
  });

  it('answers 503 { status: "unavailable" } when no live worker hosts the executor', async () => {
    const res = await getJson(`/api/executors/nobody-${suffix}/status`, reader);
    expect(res).toMatchObject({ status: 503, body: { status: 'unavailable', executor: `nobody-${suffix}` } });
  });

  it('GET /api/deployment-status lists executors with their workers, GPUs, health, load and their own concurrency', async () => {
    const res = await getJson('/api/deployment-status', reader);
    expect(res.status).toBe(200);
    const body = res.body as {
      generatedAt: string;
      executors: Array<{
        name: string;
        status: string;
        workers: Array<{ id: string; healthy: boolean; gpus: unknown[]; load: number; concurrency: number }>;
        healthyWorkers: number;
        gpus: number;
        activeJobs: number;
        concurrency: number;
        load: number;
      }>;
      workers: Array<{ id: string; executors: string[] }>;
    };
    expect(Date.parse(body.generatedAt)).not.toBeNaN();
    const routedEntry = body.executors.find((e) => e.name === ROUTED);
    // Each executor's own concurrency (ROUTED: 2 on each of its two workers), not the workers' totals.
    expect(routedEntry).toMatchObject({
      status: 'ok',
      healthyWorkers: 2,
      gpus: 1,
      activeJobs: 0,
      load: 0,
      concurrency: 4,
    });
    expect(routedEntry?.workers.map((w) => w.id).sort()).toEqual([cpuId, gpuId].sort());
    expect(routedEntry?.workers.find((w) => w.id === gpuId)).toMatchObject({
      healthy: true,
      gpus: [{ name: 'NVIDIA H100 80GB HBM3' }],
      concurrency: 2,
      load: 0,
    });
    const progressEntry = body.executors.find((e) => e.name === PROGRESS);
    expect(progressEntry?.workers.map((w) => w.id)).toEqual([cpuId]);
    expect(progressEntry).toMatchObject({ concurrency: 1, workers: [{ concurrency: 1 }] });
    // The worker list keeps each worker's total.
    expect(body.workers.find((w) => w.id === gpuId)).toMatchObject({ concurrency: 8 + 2 });
    expect(body.workers.find((w) => w.id === cpuId)?.executors).toEqual(['noop', ROUTED, PROGRESS]);
  });

  it('both routes need a key (401 without, 401 with a wrong one)', async () => {
    for (const p of [`/api/executors/${PROGRESS}/status`, '/api/deployment-status']) {
      expect((await getJson(p)).status).toBe(401);
      expect((await getJson(p, 'mk_not-a-real-key-0000000000000')).status).toBe(401);
    }
  });
});
