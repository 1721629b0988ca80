import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadWorkerInvokers } from '../src/app/worker-executors';
import { ExecutorConfigFileError, loadExecutorConfig } from '../src/sdk/index';
import { RemoteExecutor } from '../src/worker/remote';
import { submitDag, waitForDag, jobOf } from './support/dag-helpers';
import { disposePython, PY_EXECUTORS, startPython, type PyServer } from './support/python-remote';
import { launch, ROOT, type Spawned } from './support/spawned';
import { startTestApp, TEST_ATTEMPT_TOKEN_SECRET, TEST_TIMINGS, type TestApp } from './support/test-app';

const CLI = path.join(ROOT, 'dist/src/cli.js');
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-remote-config-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function yaml(text: string): Promise<string> {
  const file = path.join(tmp, `${randomBytes(4).toString('hex')}.yml`);
  await writeFile(file, text);
  return file;
}

const errorOf = async (file: string): Promise<string> => {
  const err = await loadWorkerInvokers(file, {}).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ExecutorConfigFileError);
  return (err as Error).message;
};

describe('jtype: RemoteExecutor in a worker config', () => {
  it('makes a RemoteExecutor with its with, name, concurrency and GPU routing (defaults: sdk, 600 s, 10 s)', async () => {
    const file = await yaml(`executors:
  - jtype: RemoteExecutor
    with: { url: "http://gpu-box:8080/" }
    metas: { name: ocr-gpu }
    concurrency: 3
    requiresGpu: true
  - jtype: RemoteExecutor
    with: { url: "https://marie.example/api", protocol: marie, timeoutSeconds: 30, statusIntervalSeconds: 2.5 }
`);
    const [a, b] = await loadWorkerInvokers(file, {});
    try {
      expect(a).toBeInstanceOf(RemoteExecutor);
      expect(a).toMatchObject({
        name: 'ocr-gpu',
        url: 'http://gpu-box:8080',
        protocol: 'sdk',
        timeoutMs: 600_000,
        statusIntervalMs: 10_000,
        concurrency: 3,
        requiresGpu: true,
      });
      expect(b).toMatchObject({
        name: 'RemoteExecutor',
        url: 'https://marie.example/api',
        protocol: 'marie',
        timeoutMs: 30_000,
        statusIntervalMs: 2_500,
        concurrency: 1,
        requiresGpu: false,
      });
    } finally {
      await Promise.all([a.close?.(), b.close?.()]);
    }
  });

  it('names the offending key of a bad `with`', async () => {
    const entry = (w: string, more = '') => `executors:\n  - jtype: RemoteExecutor\n    with: ${w}\n${more}`;
    expect(await errorOf(await yaml(entry('{ protocol: sdk }')))).toMatch(/: executors\[0\]\.with\.url: /);
    expect(await errorOf(await yaml(entry('{ url: "ftp://x" }')))).toMatch(
      /executors\[0\]\.with\.url: an http\(s\) URL/,
    );
    expect(await errorOf(await yaml(entry('{ url: "http://x", protocol: grpc }')))).toMatch(
      /executors\[0\]\.with\.protocol: /,
    );
    expect(await errorOf(await yaml(entry('{ url: "http://x", timeoutSeconds: -1 }')))).toMatch(
      /executors\[0\]\.with\.timeoutSeconds: /,
    );
    expect(await errorOf(await yaml(entry('{ url: "http://x", statusIntervalSecs: 5 }')))).toMatch(
      /executors\[0\]\.with\.statusIntervalSecs: unknown key/,
    );
    expect(await errorOf(await yaml(entry('{ url: "http://x" }', '    replicas: 2\n')))).toMatch(
      /executors\[0\]\.replicas: RemoteExecutor takes no replicas/,
    );
  });

  it('is the worker’s: the SDK’s own loader says where it runs', async () => {
    const file = await yaml(`jtype: RemoteExecutor\nwith: { url: "http://x" }\n`);
    const err = await loadExecutorConfig(file).catch((e: unknown) => e);
    expect(String(err)).toMatch(/jtype: RemoteExecutor is hosted by a worker/);
  });
});

describe('marie worker --config with a RemoteExecutor (plain Node, dist/)', () => {
  let api: TestApp;
  let py: PyServer;
  let proc: Spawned | null = null;
  const env = (more: Record<string, string>) => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: inject('redisUrl'),
    DATABASE_URL: inject('databaseUrl'),
    QUEUE_PREFIX: inject('queuePrefix'),
    ATTEMPT_TOKEN_SECRET: TEST_ATTEMPT_TOKEN_SECRET,
    LOG_FORMAT: 'json',
    NVIDIA_SMI_PATH: path.join(tmp, 'no-nvidia-smi'),
    ...TEST_TIMINGS,
    ...more,
  });

  beforeAll(async () => {
    api = await startTestApp({ roles: ['api', 'scheduler'] });
    py = await startPython(PY_EXECUTORS, { args: ['cli-side'] });
  }, 60_000);
  afterAll(async () => {
    if (proc && proc.child.exitCode === null) {
      process.kill(-proc.pgid, 'SIGTERM');
      await proc.exited;
    }
    await api?.stop();
    await disposePython(py);
  });

  it('runs a DAG task on the remote it names', async () => {
    const exec = `cli-py-${randomBytes(3).toString('hex')}`;
    const file = await yaml(`executors:
  - jtype: RemoteExecutor
    with: { url: "${py.url}", statusIntervalSeconds: 1 }
    metas: { name: ${exec} }
    concurrency: 2
`);
    proc = launch(process.execPath, [CLI, 'worker', '--config', file], env({ PUBLIC_API_URL: api.url }));
    const { key } = await api.tenant('admin');
    const id = `cli-${randomUUID()}`;
    await submitDag(api, key, { id, name: 'cli', jobs: [{ id: 'e', name: '/echo', executor: exec }] });
    const d = await waitForDag(api, key, id, ['COMPLETED', 'FAILED'], 60_000);
    expect(d.state).toBe('COMPLETED');
    expect(jobOf(d, 'e').output).toEqual({ server: 'cli-side', parameters: {} });
  }, 90_000);

  it('a bad `with` exits 2 naming the key', async () => {
    const file = await yaml(`jtype: RemoteExecutor\nwith: { url: "http://x", protocol: soap }\n`);
    const p = launch(process.execPath, [CLI, 'worker', '--config', file], env({}));
    const { code } = await p.exited;
    expect(code).toBe(2);
    expect(p.output()).toContain('with.protocol: ');
  }, 30_000);
});
