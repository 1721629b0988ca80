import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { waitFor } from './support/dag-helpers';
import { ok, startTestApp, type TestApp } from './support/test-app';

/** `npm test` builds dist/ before vitest runs; `npm ci` does too (prepare). */
const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist/src/cli.js');
const SDK = path.join(ROOT, 'dist/src/sdk/index.js');

let api: TestApp;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-cli-'));
  api = await startTestApp({ roles: ['api'] });
});
afterAll(async () => {
  await api?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A compiled executor module (plain Node loads it) whose close() writes a marker file. */
const markerModule = (marker: string) => `'use strict';
const { writeFileSync } = require('node:fs');
const { Executor, requests } = require(${JSON.stringify(SDK)});
class MarkerExecutor extends Executor {
  ping() { return { pong: true }; }
  async close() { writeFileSync(${JSON.stringify(marker)}, 'closed ' + this.metas.name + '#' + this.runtimeArgs.replicaId + '\\n', { flag: 'a' }); }
}
requests({ on: '/ping' })(MarkerExecutor.prototype, 'ping', Object.getOwnPropertyDescriptor(MarkerExecutor.prototype, 'ping'));
exports.MarkerExecutor = MarkerExecutor;
`;

describe('marie worker --config', () => {
  it('starts a worker with the YAML executors (several, each with its concurrency), and on SIGTERM closes them and exits 0', async () => {
    expect(existsSync(CLI), 'dist/ is built (npm run build)').toBe(true);
    const suffix = randomBytes(3).toString('hex');
    const marker = path.join(tmp, 'closed.txt');
    await writeFile(path.join(tmp, 'marker.executor.js'), markerModule(marker));
    await writeFile(
      path.join(tmp, 'executors.yml'),
      `storage: file://./storage
executors:
  - jtype: MarkerExecutor
    modules: [./marker.executor.js]
    metas: { name: marker-${suffix} }
    concurrency: 3
    replicas: 2
  - jtype: MarkerExecutor
    modules: [./marker.executor.js]
    metas: { name: second-${suffix} }
`,
    );
    const workerId = `cli-${suffix}`;
    const child = spawn(process.execPath, [CLI, 'worker', '--config', path.join(tmp, 'executors.yml')], {
      cwd: tmp,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: inject('databaseUrl'),
        REDIS_URL: inject('redisUrl'),
        QUEUE_PREFIX: inject('queuePrefix'),
        WORKER_ID: workerId,
        NVIDIA_SMI_PATH: path.join(tmp, 'no-nvidia-smi'),
        HEARTBEAT_MS: '300',
        LOG_LEVEL: 'warn',
        STORAGE_URL: `file://${tmp}/storage`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const { key } = await api.tenant('reader');
      const row = await waitFor(
        async () =>
          ok(
            await api.gql<{ workers: Array<{ id: string; executors: string[]; concurrency: number }> }>(
              `{ workers { id executors concurrency } }`,
              {},
              key,
            ),
          ).workers.find((w) => w.id === workerId),
        30_000,
        `worker ${workerId} in workers (output: ${output})`,
      );
      expect(row.executors).toEqual(['noop', `marker-${suffix}`, `second-${suffix}`]);
      expect(row.concurrency).toBe(8 + 3 + 1);
      expect(existsSync(marker)).toBe(false);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const lines = (await readFile(marker, 'utf8')).trim().split('\n').sort();
    expect(lines).toEqual([`closed marker-${suffix}#0`, `closed marker-${suffix}#1`, `closed second-${suffix}#0`]);
    // It left the fleet on the way out.
    const gone: unknown[] = await api.app.services.ds.query(`SELECT 1 FROM workers WHERE id = $1`, [workerId]);
    expect(gone).toEqual([]);
  }, 60_000);

  it('`--role worker` (npm start) loads the executors named by WORKER_CONFIG', async () => {
    const suffix = randomBytes(3).toString('hex');
    const marker = path.join(tmp, `main-${suffix}.txt`);
    await writeFile(path.join(tmp, `main-${suffix}.executor.js`), markerModule(marker));
    const yml = path.join(tmp, `main-${suffix}.yml`);
    await writeFile(
      yml,
      `jtype: MarkerExecutor\nmodules: ./main-${suffix}.executor.js\nmetas: { name: main-${suffix} }\nconcurrency: 2\n`,
    );
    const workerId = `main-${suffix}`;
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js'), '--role', 'worker'], {
      cwd: tmp,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: inject('databaseUrl'),
        REDIS_URL: inject('redisUrl'),
        QUEUE_PREFIX: inject('queuePrefix'),
        WORKER_ID: workerId,
        WORKER_CONFIG: yml,
        NVIDIA_SMI_PATH: path.join(tmp, 'no-nvidia-smi'),
        LOG_LEVEL: 'warn',
        STORAGE_URL: `file://${tmp}/storage`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const { key } = await api.tenant('reader');
      const row = await waitFor(
        async () =>
          ok(
            await api.gql<{ workers: Array<{ id: string; executors: string[]; concurrency: number }> }>(
              `{ workers { id executors concurrency } }`,
              {},
              key,
            ),
          ).workers.find((w) => w.id === workerId),
        30_000,
        `worker ${workerId}`,
      );
      expect(row).toMatchObject({ executors: ['noop', `main-${suffix}`], concurrency: 10 });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(await readFile(marker, 'utf8')).toBe(`closed main-${suffix}#0\n`);
  }, 60_000);

  it('a bad config file is reported with its key, exit code 2', async () => {
    await writeFile(path.join(tmp, 'bad.yml'), `executors:\n  - jtype: Nope\n    concurency: 2\n`);
    const child = spawn(process.execPath, [CLI, 'worker', '--config', path.join(tmp, 'bad.yml')], {
      cwd: tmp,
      env: { PATH: process.env.PATH, REDIS_URL: inject('redisUrl'), DATABASE_URL: inject('databaseUrl') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(stderr).toContain('executors[0].concurency: unknown key');
  }, 30_000);
});
