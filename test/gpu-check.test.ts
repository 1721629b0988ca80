import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorInvoker } from '../src/core/executor-call';
import { dagSnapshot, submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { startTestApp, type TestApp } from './support/test-app';

const suffix = randomBytes(3).toString('hex');
const GPU_EXEC = `gpu-check-${suffix}`;
const FAKE_SMI = path.resolve(__dirname, 'fixtures/bin/nvidia-smi');

let tmp: string;
let api: TestApp;
const apps: TestApp[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-gpu-check-'));
  api = await startTestApp({ roles: ['api', 'scheduler'] });
});
afterAll(async () => {
  await Promise.allSettled(apps.map((a) => a.stop()));
  await api?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const invoker = (): ExecutorInvoker => ({ name: GPU_EXEC, concurrency: 1, invoke: async (_d, ctx) => ctx.jobId });

describe('GPU health before a GPU job', () => {
  it('a worker whose nvidia-smi starts failing takes no GPU job from then on, before its next heartbeat; a healthy worker takes it', async () => {
    // The stand-in fails while the "broken" file exists.
    const smi = path.join(tmp, 'nvidia-smi');
    const broken = path.join(tmp, 'broken');
    await writeFile(
      smi,
      `#!/bin/sh\nif [ -f '${broken}' ]; then echo 'NVIDIA-SMI has failed' >&2; exit 9; fi\necho '0, NVIDIA A10G, 23028, 0, 0'\n`,
    );
    await chmod(smi, 0o755);
    const flakyId = `gpu-flaky-${suffix}`;
    // Healthy at start; its timer (heartbeat) would not probe again within this test.
    const flaky = await startTestApp({
      roles: ['worker'],
      env: { WORKER_ID: flakyId, NVIDIA_SMI_PATH: smi, HEARTBEAT_MS: '600000', LEASE_MS: '1200000' },
      executors: [invoker()],
    });
    apps.push(flaky);
    expect(flaky.app.worker!.hasGpu).toBe(true);

    await writeFile(broken, '');
    const { key } = await api.tenant('submitter');
    const dagId = await submitDag(api, key, {
      id: `gpu-check-${suffix}`,
      name: 'gpu-check',
      jobs: [{ id: 'a', name: 'run', executor: GPU_EXEC, requiresGpu: true }],
    });
    // The job reached the worker, which probed the GPU then and there and gave it back.
    await waitFor(async () => !flaky.app.worker!.hasGpu, 15_000, 'the worker to find its GPU failing');
    const after = await dagSnapshot(api, key, dagId);
    expect(after.jobs[0].attempts).toEqual([]);
    expect(after.jobs[0].state).not.toBe('COMPLETED');

    const healthyId = `gpu-healthy-${suffix}`;
    apps.push(
      await startTestApp({
        roles: ['worker'],
        env: { WORKER_ID: healthyId, NVIDIA_SMI_PATH: FAKE_SMI },
        executors: [invoker()],
      }),
    );
    const done = await waitForDag(api, key, dagId, ['COMPLETED', 'FAILED']);
    expect(done.state).toBe('COMPLETED');
    expect(done.jobs[0].attempts.map((a) => [a.outcome, a.workerId])).toEqual([['SUCCEEDED', healthyId]]);
  });
});
