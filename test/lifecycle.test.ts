import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { DUPLICATE_SIGNAL_MS } from '../src/app/shutdown';
import type { ExecutorInvoker } from '../src/core/executor-call';
import { dagSnapshot, submitDag, waitFor, waitForDag, type DagSnapshot } from './support/dag-helpers';
import {
  groupAlive,
  holdModule,
  killGroup,
  launch,
  listening,
  logLine,
  pidsMentioning,
  ROOT,
  type Spawned,
} from './support/spawned';
import { ok, startTestApp, type TestApp } from './support/test-app';

/**
 * The server as users run it (`npm start`, `node dist/src/main.js`, `npx marie worker`),
 * stopped by a signal with a job in flight that cannot finish within WORKER_GRACE_MS.
 * `npm test` builds dist/ first (and `npm ci` does, through prepare).
 */
const MAIN = path.join(ROOT, 'dist/src/main.js');
const CLI = path.join(ROOT, 'dist/src/cli.js');
const GRACE = 500;
/** What the rule allows from the signal to the exit. */
const EXIT_WITHIN = GRACE + 5_000;
const suffix = randomBytes(3).toString('hex');

let tmp: string;
let api: TestApp;
let submitter: string;
const spawned: Spawned[] = [];
const apps: TestApp[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-lifecycle-'));
  await chmod(tmp, 0o755); // the embedded cluster runs as the postgres user when we are root
  await writeFile(path.join(tmp, 'hold.executor.js'), holdModule(path.join(ROOT, 'dist/src/sdk/index.js')));
  api = await startTestApp({ roles: ['api'] });
  ({ key: submitter } = await api.tenant('submitter'));
});
afterAll(async () => {
  for (const p of spawned) killGroup(p);
  await Promise.allSettled(apps.map((a) => a.stop()));
  await api?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A worker config with one executor, `name`, whose jobs hang until the worker aborts them. */
async function holdConfig(name: string): Promise<string> {
  const file = path.join(tmp, `${name}.yml`);
  const module = path.join(tmp, 'hold.executor.js');
  await writeFile(file, `jtype: HoldExecutor\nmodules: ${module}\nmetas: { name: ${name}, workspace: ${tmp}/ws }\n`);
  return file;
}

/** The environment of a spawned process: nothing inherited but PATH and HOME (npm needs them). */
function env(vars: Record<string, string | undefined>): Record<string, string> {
  const all: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: inject('redisUrl'),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    HEARTBEAT_MS: '300',
    SWEEP_INTERVAL_MS: '100',
    WORKER_GRACE_MS: String(GRACE),
    NVIDIA_SMI_PATH: path.join(tmp, 'no-nvidia-smi'),
    // Required in production; the processes of one test share it, as a deployment's would.
    ATTEMPT_TOKEN_SECRET: 'lifecycle-attempt-token-secret-0123456789',
    STORAGE_URL: `file://${tmp}/storage`,
    METRICS_ENABLED: 'false',
    ...vars,
  };
  return Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
}

function start(command: string, args: string[], vars: Record<string, string | undefined>): Spawned {
  const p = launch(command, args, env(vars));
  spawned.push(p);
  return p;
}

/** Resolves with the exit, or fails when it takes longer than the rule allows. */
async function exitOf(p: Spawned): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${EXIT_WITHIN} ms:\n${p.output()}`)), EXIT_WITHIN);
  });
  try {
    return await Promise.race([p.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until no process of the group is left (npx: its node outlives npm and sh). */
const groupGone = (p: Spawned) =>
  waitFor(
    async () => !groupAlive(p.pgid),
    EXIT_WITHIN,
    () => `process group ${p.pgid} gone:\n${p.output()}`,
  );

const attempts = (d: DagSnapshot, taskId: string) =>
  d.jobs.find((j) => j.taskId === taskId)?.attempts.map((a) => ({ outcome: a.outcome, workerId: a.workerId })) ?? [];

/** Waits until `taskId` runs on `workerId`. */
const runningOn = (read: () => Promise<DagSnapshot>, taskId: string, workerId: string) =>
  waitFor(
    async () => attempts(await read(), taskId).some((a) => a.outcome === 'RUNNING' && a.workerId === workerId),
    30_000,
    `${taskId} running on ${workerId}`,
  );

const completing = (name: string): ExecutorInvoker => ({
  name,
  concurrency: 1,
  invoke: async () => ({ rescued: true }),
});

describe('SIGTERM with a job in flight, external database', () => {
  it('`node dist/src/main.js` (production), `npm start` (production) and `npx marie worker` (NODE_ENV unset) exit 0, hand the job back, leave no process; it completes elsewhere', async () => {
    const db = { DATABASE_URL: inject('databaseUrl'), QUEUE_PREFIX: inject('queuePrefix') };
    const names = { node: `hold-node-${suffix}`, npm: `hold-npm-${suffix}`, npx: `hold-npx-${suffix}` };
    const ids = { node: `node-${suffix}`, npm: `npm-${suffix}`, npx: `npx-${suffix}` };
    const node = start(process.execPath, [MAIN], {
      ...db,
      NODE_ENV: 'production',
      WORKER_ID: ids.node,
      WORKER_CONFIG: await holdConfig(names.node),
    });
    // `npm start` itself (build included) runs once, in the embedded case below.
    const npm = start('npm', ['start', '--ignore-scripts'], {
      ...db,
      NODE_ENV: 'production',
      WORKER_ID: ids.npm,
      WORKER_CONFIG: await holdConfig(names.npm),
    });
    const npx = start('npx', ['marie', 'worker', '--config', await holdConfig(names.npx)], {
      ...db,
      WORKER_ID: ids.npx,
    });
    const nodePort = Number((await logLine(node, /^GraphQL at/)).port);
    const npmPort = Number((await logLine(npm, /^GraphQL at/)).port);
    await Promise.all([logLine(node, 'started'), logLine(npm, 'started'), logLine(npx, 'started')]);

    const dagId = await submitDag(api, submitter, {
      id: `lifecycle-${suffix}`,
      name: 'lifecycle',
      jobs: Object.entries(names).map(([id, executor]) => ({ id, name: 'hold', executor })),
    });
    const read = () => dagSnapshot(api, submitter, dagId);
    for (const k of ['node', 'npm', 'npx'] as const) await runningOn(read, k, ids[k]);

    process.kill(node.child.pid!, 'SIGTERM'); // the server itself
    process.kill(npm.child.pid!, 'SIGTERM'); // npm only: it passes the signal on
    process.kill(npx.child.pid!, 'SIGTERM'); // npx only: its sh dies, the worker must notice
    expect(await exitOf(node)).toEqual({ code: 0, signal: null });
    expect(await exitOf(npm)).toEqual({ code: 0, signal: null });
    await groupGone(npx);
    expect(npx.logs().map((l) => l.msg)).toContain('stopped'); // logged just before its exit(0)
    for (const p of [node, npm]) expect(groupAlive(p.pgid)).toBe(false);
    expect(await listening(nodePort)).toBe(false);
    expect(await listening(npmPort)).toBe(false);

    const handedBack = await read();
    for (const k of ['node', 'npm', 'npx'] as const) {
      expect(attempts(handedBack, k)).toEqual([{ outcome: 'HANDED_BACK', workerId: ids[k] }]);
    }
    const rescuerId = `rescuer-${suffix}`;
    apps.push(
      await startTestApp({
        roles: ['worker', 'scheduler'],
        env: { WORKER_ID: rescuerId },
        executors: Object.values(names).map(completing),
      }),
    );
    const done = await waitForDag(api, submitter, dagId, ['COMPLETED', 'FAILED']);
    expect(done.state).toBe('COMPLETED');
    for (const k of ['node', 'npm', 'npx'] as const) {
      expect(attempts(done, k)).toEqual([
        { outcome: 'HANDED_BACK', workerId: ids[k] },
        { outcome: 'SUCCEEDED', workerId: rescuerId },
      ]);
    }
  }, 90_000);

  it('a second signal exits at once, without waiting out WORKER_GRACE_MS (the lease then puts the job back)', async () => {
    const name = `hold-twice-${suffix}`;
    const id = `twice-${suffix}`;
    const p = start(process.execPath, [MAIN, '--role', 'worker'], {
      DATABASE_URL: inject('databaseUrl'),
      QUEUE_PREFIX: inject('queuePrefix'),
      WORKER_ID: id,
      WORKER_CONFIG: await holdConfig(name),
      WORKER_GRACE_MS: '120000',
      LEASE_MS: '1500',
    });
    await logLine(p, 'started');
    const dagId = await submitDag(api, submitter, {
      id: `twice-${suffix}`,
      name: 'twice',
      jobs: [{ id: 'a', name: 'hold', executor: name }],
    });
    const read = () => dagSnapshot(api, submitter, dagId);
    await runningOn(read, 'a', id);
    process.kill(p.child.pid!, 'SIGTERM');
    await logLine(p, /^shutting down/);
    // A signal within DUPLICATE_SIGNAL_MS is the same request (npm forwards what the group got).
    await new Promise((r) => setTimeout(r, DUPLICATE_SIGNAL_MS + 100));
    process.kill(p.child.pid!, 'SIGTERM');
    expect(await exitOf(p)).toEqual({ code: 128 + 15, signal: null });
    expect(p.logs().map((l) => l.msg)).toContain('second signal: exiting at once');
    expect(attempts(await read(), 'a')).toEqual([{ outcome: 'RUNNING', workerId: id }]);

    const rescuerId = `rescuer2-${suffix}`;
    apps.push(
      await startTestApp({
        roles: ['worker', 'scheduler'],
        env: { WORKER_ID: rescuerId },
        executors: [completing(name)],
      }),
    );
    const done = await waitForDag(api, submitter, dagId, ['COMPLETED', 'FAILED']);
    expect(attempts(done, 'a')).toEqual([
      { outcome: 'LOST', workerId: id },
      { outcome: 'SUCCEEDED', workerId: rescuerId },
    ]);
  }, 60_000);
});

describe('SIGTERM with a job in flight, embedded database', () => {
  it('`npm start` (NODE_ENV unset) and an attached `npx marie worker` (production) stop on a signal to their process group, the database last; it restarts on its port and the jobs complete', async () => {
    const dataDir = path.join(tmp, 'data');
    const clusterDir = path.join(dataDir, 'pg');
    const bootstrap = `lifecycle-bootstrap-${randomBytes(12).toString('hex')}`;
    const emb = { DATA_DIR: dataDir, QUEUE_PREFIX: `${inject('queuePrefix')}-emb`, AUTH_BOOTSTRAP_KEY: bootstrap };
    const names = { npm: `hold-enpm-${suffix}`, npx: `hold-enpx-${suffix}` };
    const ids = { npm: `enpm-${suffix}`, npx: `enpx-${suffix}` };
    const npm = start('npm', ['start'], { ...emb, WORKER_ID: ids.npm, WORKER_CONFIG: await holdConfig(names.npm) });
    const pgPort = Number((await logLine(npm, 'embedded PostgreSQL is up', 120_000)).port);
    const httpPort = Number((await logLine(npm, /^GraphQL at/)).port);
    await logLine(npm, 'started');
    const npx = start('npx', ['marie', 'worker', '--config', await holdConfig(names.npx)], {
      ...emb,
      NODE_ENV: 'production',
      WORKER_ID: ids.npx,
    });
    await logLine(npx, 'started');

    // A CLI command that fails exits non-zero, also when it opened the embedded database.
    const cli = spawnSync(process.execPath, [CLI, 'apikey', 'revoke', 'no-such-key'], {
      cwd: ROOT,
      env: env(emb),
      encoding: 'utf8',
    });
    expect(cli.stderr).toMatch(/not found/i);
    expect(cli.status).toBe(1);

    const gql = async <T>(query: string, variables: Record<string, unknown>) => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bootstrap}` },
        body: JSON.stringify({ query, variables }),
      });
      return ok({ status: res.status, headers: res.headers, ...((await res.json()) as { data?: T }) });
    };
    const dagId = `embedded-${suffix}`;
    await gql(`mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id } }`, {
      input: {
        id: dagId,
        name: 'embedded',
        jobs: Object.entries(names).map(([id, executor]) => ({ id, name: 'hold', executor })),
      },
    });
    const read = async () =>
      (
        await gql<{ dag: DagSnapshot }>(
          `query ($id: ID!) { dag(id: $id) { id state jobs { taskId attempts { outcome workerId } } } }`,
          { id: dagId },
        )
      ).dag;
    await runningOn(read, 'npm', ids.npm);
    await runningOn(read, 'npx', ids.npx);

    process.kill(-npx.pgid, 'SIGTERM');
    await groupGone(npx);
    expect(npx.logs().map((l) => l.msg)).toContain('stopped');
    expect(attempts(await read(), 'npx')).toEqual([{ outcome: 'HANDED_BACK', workerId: ids.npx }]);

    // Like a Ctrl-C: npm, and the server it runs, both get the signal (npm passes its copy on).
    process.kill(-npm.pgid, 'SIGTERM');
    expect(await exitOf(npm)).toEqual({ code: 0, signal: null });
    expect(groupAlive(npm.pgid)).toBe(false);
    expect(pidsMentioning(clusterDir)).toEqual([]);
    expect(await listening(httpPort)).toBe(false);
    expect(await listening(pgPort)).toBe(false);
    const msgs = npm.logs().map((l) => l.msg);
    expect(msgs).toContain('handed back a running job');
    expect(msgs.filter((m) => typeof m === 'string' && m.startsWith('shutting down'))).toHaveLength(1);

    // The same data folder again: the same port, and what was handed back completes.
    const rescuerId = `erescuer-${suffix}`;
    const rescuer = await startTestApp({
      roles: ['api', 'worker', 'scheduler'],
      env: { ...emb, DATABASE_URL: undefined, WORKER_ID: rescuerId },
      executors: Object.values(names).map(completing),
    });
    apps.push(rescuer);
    const [{ port }] = await rescuer.app.services.ds.query<Array<{ port: string }>>('SHOW port');
    expect(Number(port)).toBe(pgPort);
    const done = await waitFor(
      async () => {
        const d = (
          await rescuer.gql<{ dag: DagSnapshot }>(
            `query ($id: ID!) { dag(id: $id) { id state jobs { taskId attempts { outcome workerId } } } }`,
            { id: dagId },
            bootstrap,
          )
        ).data?.dag;
        return d?.state === 'COMPLETED' ? d : null;
      },
      20_000,
      'the handed-back jobs complete',
    );
    expect(attempts(done, 'npm')).toEqual([
      { outcome: 'HANDED_BACK', workerId: ids.npm },
      { outcome: 'SUCCEEDED', workerId: rescuerId },
    ]);
    expect(attempts(done, 'npx')).toEqual([
      { outcome: 'HANDED_BACK', workerId: ids.npx },
      { outcome: 'SUCCEEDED', workerId: rescuerId },
    ]);
    await rescuer.stop();
    expect(pidsMentioning(clusterDir)).toEqual([]);

    // Its port taken meanwhile: a new free one, recorded for next time.
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(pgPort, '127.0.0.1', () => r()));
    try {
      const again = await startEmbeddedPostgres(clusterDir);
      try {
        expect(again.port).not.toBe(pgPort);
        const recorded = (await readFile(path.join(dataDir, 'pg.port'), 'utf8')).split('\n');
        expect(recorded.slice(0, 2)).toEqual([String(again.port), String(process.pid)]);
      } finally {
        await again.stop();
      }
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  }, 120_000);

  it('a cluster left running by a server killed with SIGKILL is stopped at the next start, which runs its own on that port', async () => {
    const dir = path.join(tmp, 'orphaned', 'pg');
    const module = JSON.stringify(path.join(ROOT, 'dist/src/db/embedded-postgres.js'));
    const script = `require(${module}).startEmbeddedPostgres(${JSON.stringify(dir)})
      .then((h) => console.log(JSON.stringify({ msg: 'up', port: h.port })));
      setInterval(() => undefined, 60_000); // a server: up until killed`;
    const owner = start(process.execPath, ['-e', script], {});
    try {
      const { port } = await logLine(owner, 'up');
      process.kill(owner.child.pid!, 'SIGKILL');
      await owner.exited;
      expect(pidsMentioning(dir).length).toBeGreaterThan(0); // it outlived its server
      const next = await startEmbeddedPostgres(dir);
      expect(next.port).toBe(Number(port));
      await next.stop();
      expect(pidsMentioning(dir)).toEqual([]);
    } finally {
      for (const pid of pidsMentioning(dir)) process.kill(pid, 'SIGINT');
    }
  }, 60_000);
});
