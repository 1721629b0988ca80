import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { one } from './support/assets';
import { waitFor } from './support/dag-helpers';
import { freePort } from './support/private-stores';
import { MARIE_BIN, runCli, startCli } from './support/cli';
import { startTestApp, type TestApp } from './support/test-app';

const execFileAsync = promisify(execFile);

const ROOT = path.resolve(__dirname, '..');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let t: TestApp;
let key: string;
let home: string;
/** MARIE_URL and MARIE_KEY of the test server, and a private HOME and config folder. */
let env: Record<string, string>;

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dist/src/cli.js')), 'dist/ is built (npm run build)').toBe(true);
  home = await mkdtemp(path.join(os.tmpdir(), 'marie-cli-home-'));
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'] });
  ({ key } = await t.tenant('submitter'));
  env = { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), MARIE_URL: t.url, MARIE_KEY: key };
});
afterAll(async () => {
  await t?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

const marie = (args: string[], extra: Record<string, string | undefined> = {}, input?: string) =>
  runCli(args, { env: { ...env, ...extra }, input, cwd: home });

/** A one-job noop DAG. */
const oneJob = (id: string, data: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  id,
  name: 'cli-test',
  jobs: [{ id: 'only', name: 'only', executor: 'noop', retryLimit: 0, data, ...more }],
});

async function dagFile(doc: unknown, ext = 'json'): Promise<string> {
  const file = path.join(home, `${randomUUID()}.${ext}`);
  await writeFile(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('marie: help, version, unknown commands', () => {
  it('--version prints the version of package.json', async () => {
    const r = await marie(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it('builds its commands without loading the database, the app or Redis (they load when a command runs)', async () => {
    // `--help` and the client commands start in a fraction of the time the app's modules take.
    const script = `require(${JSON.stringify(path.resolve('dist/src/cli.js'))}).buildCli();
      process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((k) => /node_modules[\\/](typeorm|@apollo[\\/]server|bullmq|ioredis)[\\/]/.test(k)).length))`;
    const { stdout } = await execFileAsync(process.execPath, ['-e', script]);
    expect(JSON.parse(stdout)).toBe(0);
  });

  it.each([
    'dag submit',
    'dag watch',
    'dag list',
    'dag show',
    'dag cancel',
    'dag retry',
    'workers',
    'queues',
    'lineage',
    'login',
    'apikey revoke',
  ])('marie %s --help shows its own help, with --json', async (cmd) => {
    const r = await marie([...cmd.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: marie ${cmd} `));
    expect(r.stdout).toContain('--json');
  });

  it('marie dag --help lists the dag commands, not the root help', async () => {
    const r = await marie(['dag', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: marie dag /);
    for (const c of ['submit', 'watch', 'list', 'show', 'cancel', 'retry']) expect(r.stdout).toContain(c);
  });

  it('an unknown command, or subcommand, exits non-zero', async () => {
    const r1 = await marie(['frobnicate']);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toContain("unknown command 'frobnicate'");
    const r2 = await marie(['dag', 'frobnicate']);
    expect(r2.code).not.toBe(0);
  });
});

describe('marie dag', () => {
  it('submit --json answers the DAG; watch prints a line per job and exits 0 on COMPLETED', async () => {
    const id = `inv-${randomUUID()}`;
    const sub = await marie(['dag', 'submit', path.join(ROOT, 'examples/dags/invoice-42.json'), '--id', id, '--json']);
    expect(sub.code, sub.stderr).toBe(0);
    expect(JSON.parse(sub.stdout)).toMatchObject({ id, name: 'document-pipeline', progress: { total: 4 } });

    const w = await marie(['dag', 'watch', id]);
    expect(w.code, w.stderr).toBe(0);
    for (const task of ['ocr', 'classify', 'extract', 'store']) {
      expect(w.stdout).toMatch(new RegExp(`^${task}\\s+COMPLETED\\s+try 1`, 'm'));
    }
    expect(w.stdout).toMatch(new RegExp(`^dag ${id} COMPLETED 100%`, 'm'));
  });

  it('submit --watch from YAML, with --json: one JSON object a line, ending with the final DAG state', async () => {
    const id = `yaml-${randomUUID()}`;
    const file = await dagFile(
      `id: ${id}\nname: cli-yaml\njobs:\n  - { id: a, name: a, executor: noop, data: { sleepMs: 100 } }\n  - { id: b, name: b, executor: noop, dependencies: [a] }\n`,
      'yaml',
    );
    const r = await marie(['dag', 'submit', file, '--watch', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; state: string; taskId?: string });
    expect(lines.filter((l) => l.type === 'dag').at(-1)).toMatchObject({ type: 'dag', dagId: id, state: 'COMPLETED' });
    expect(lines.filter((l) => l.type === 'job').map((l) => l.taskId)).toEqual(expect.arrayContaining(['a', 'b']));
  });

  it('watch exits 1 when the DAG fails and 2 when it is cancelled (a running DAG, followed live)', async () => {
    const failing = `fail-${randomUUID()}`;
    await marie(['dag', 'submit', await dagFile(oneJob(failing, { failTimes: 5 }))]);
    const f = await marie(['dag', 'watch', failing]);
    expect(f.code).toBe(1);
    expect(f.stdout).toMatch(new RegExp(`^dag ${failing} FAILED`, 'm'));

    const held = `hold-${randomUUID()}`;
    await marie(['dag', 'submit', await dagFile(oneJob(held, { hang: true }))]);
    const watch = startCli(['dag', 'watch', held], { env, cwd: home });
    await waitFor(async () => /^only\s+ACTIVE/m.test(watch.out()), 15_000, 'the watch to show the job running');
    const c = await marie(['dag', 'cancel', held, '--json']);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toEqual({ id: held, state: 'CANCELLED' });
    const w = await watch.done;
    expect(w.code).toBe(2);
    expect(w.stdout).toMatch(/^only\s+CANCELLED/m);
    expect(w.stdout).toMatch(new RegExp(`^dag ${held} CANCELLED`, 'm'));
  });

  it('list, show (with the outputs) and retry, as text and --json', async () => {
    const id = `show-${randomUUID()}`;
    await marie(['dag', 'submit', await dagFile(oneJob(id, { output: { claims: [{ amount: 12.5 }] } }))]);
    await marie(['dag', 'watch', id]);
    const show = await marie(['dag', 'show', id]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^dag ${id} \\(cli-test\\) COMPLETED 100%`));
    expect(show.stdout).toContain('Outputs:');
    expect(show.stdout).toContain('"amount": 12.5');
    const showJson = JSON.parse((await marie(['dag', 'show', id, '--json'])).stdout) as {
      jobs: Array<{ taskId: string; output: unknown }>;
    };
    expect(showJson.jobs).toEqual([
      expect.objectContaining({ taskId: 'only', output: { claims: [{ amount: 12.5 }] } }),
    ]);

    const list = await marie(['dag', 'list', '--name', 'cli-test', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { totalCount: number; dags: Array<{ id: string; state: string }> };
    expect(listed.dags).toEqual(expect.arrayContaining([expect.objectContaining({ id, state: 'COMPLETED' })]));
    expect((await marie(['dag', 'list'])).stdout).toMatch(new RegExp(`^${id}\\s+cli-test\\s+COMPLETED\\s+100%`, 'm'));

    const failing = `retry-${randomUUID()}`;
    await marie(['dag', 'submit', await dagFile(oneJob(failing, { failTimes: 1 }))]);
    expect((await marie(['dag', 'watch', failing])).code).toBe(1);
    const retry = await marie(['dag', 'retry', failing, '--json']);
    expect(retry.code, retry.stderr).toBe(0);
    expect(JSON.parse(retry.stdout)).toEqual([expect.objectContaining({ taskId: 'only', tryNumber: 2 })]);
    expect((await marie(['dag', 'watch', failing])).code).toBe(0);
    const again = await marie(['dag', 'retry', failing]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^marie: CONFLICT: .*no failed/);
  }, 90_000); // a dozen CLI processes, each a cold Node start

  it('fails with one line on stderr and exit 1: unknown DAG, bad input, bad key, unreachable server', async () => {
    const missing = await marie(['dag', 'show', 'no-such-dag']);
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'marie: NOT_FOUND: DAG no-such-dag not found\n' });
    const watchMissing = await marie(['dag', 'watch', 'no-such-dag']);
    expect(watchMissing.code).toBe(1);

    const bad = await marie(['dag', 'submit', await dagFile({ id: 'x', name: 'x', jobs: [] })]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^marie: BAD_USER_INPUT: .+\n$/);

    const unauth = await marie(['dag', 'list'], { MARIE_KEY: 'not-a-key' });
    expect(unauth.code).toBe(1);
    expect(unauth.stderr).toMatch(/^marie: UNAUTHENTICATED: .+\n$/);

    const url = `http://127.0.0.1:${await closedPort()}/graphql`;
    const down = await marie(['dag', 'list'], { MARIE_URL: url });
    expect(down).toMatchObject({ code: 1, stderr: `marie: cannot reach ${url}: connection refused\n` });

    const noKey = await marie(['workers'], { MARIE_KEY: undefined });
    expect(noKey).toMatchObject({ code: 1, stderr: 'marie: no API key: set MARIE_KEY or run marie login\n' });

    const noFile = await marie(['dag', 'submit', path.join(home, 'nope.json')]);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain('ENOENT');
  });
});

describe('marie workers, queues, lineage', () => {
  it('workers and queues, as text and --json', async () => {
    const id = `q-${randomUUID()}`;
    expect((await marie(['dag', 'submit', await dagFile(oneJob(id, {})), '--watch'])).code).toBe(0);
    const w = await marie(['workers', '--json']);
    expect(w.code, w.stderr).toBe(0);
    const workers = JSON.parse(w.stdout) as Array<{ id: string; executors: string[]; healthy: boolean }>;
    expect(workers.some((x) => x.executors.includes('noop') && x.healthy)).toBe(true);
    expect((await marie(['workers'])).stdout).toMatch(/^ID\s+HOST\s+EXECUTORS/);

    const q = await marie(['queues', '--json']);
    expect(q.code, q.stderr).toBe(0);
    const queues = JSON.parse(q.stdout) as Array<{ executor: string; completed: number }>;
    expect(queues.find((x) => x.executor === 'noop')?.completed).toBeGreaterThan(0);
    expect((await marie(['queues'])).stdout).toMatch(/^EXECUTOR\s+WAITING\s+ACTIVE/);
  });

  it('lineage of an asset, as text and --json; an unknown asset is NOT_FOUND', async () => {
    const { key: own, tenantId } = await t.tenant('submitter');
    const raw = await one(t, tenantId, 'cli/raw', 'raw');
    await one(t, tenantId, 'cli/clean', 'clean', [raw]);
    const r = await marie(['lineage', 'cli/clean', '--json'], { MARIE_KEY: own });
    expect(r.code, r.stderr).toBe(0);
    const g = JSON.parse(r.stdout) as { assetKey: string; nodes: unknown[]; edges: unknown[] };
    expect(g.assetKey).toBe('cli/clean');
    expect(g.nodes).toEqual(
      expect.arrayContaining([
        { assetKey: 'cli/clean', distance: 0 },
        { assetKey: 'cli/raw', distance: -1 },
      ]),
    );
    expect(g.edges).toEqual([{ fromAssetKey: 'cli/raw', toAssetKey: 'cli/clean' }]);
    const text = await marie(['lineage', 'cli/clean'], { MARIE_KEY: own });
    expect(text.stdout).toBe('lineage of cli/clean (upstream, depth 10)\n  cli/clean ← cli/raw\n    cli/raw\n');

    const none = await marie(['lineage', 'cli/none'], { MARIE_KEY: own });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^marie: NOT_FOUND: /);
  });
});

describe('marie login', () => {
  it('checks the URL and key, then stores them (mode 0600) for the other commands; MARIE_* still win', async () => {
    const xdg = path.join(home, `xdg-${randomUUID()}`);
    const file = path.join(xdg, 'marie', 'credentials.json');
    const bare = { HOME: home, XDG_CONFIG_HOME: xdg };

    const refused = await runCli(['login', '--url', t.url, '--key', 'wrong-key'], { env: bare, cwd: home });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^marie: UNAUTHENTICATED/);
    expect(existsSync(file)).toBe(false);

    const base = t.url.replace(/\/graphql$/, '');
    const r = await runCli(['login', '--url', base], { env: bare, cwd: home, input: `${key}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`logged in to ${t.url}; saved in ${file}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ url: t.url, key });

    const list = await runCli(['dag', 'list', '--json'], { env: bare, cwd: home });
    expect(list.code, list.stderr).toBe(0);
    const overridden = await runCli(['dag', 'list'], { env: { ...bare, MARIE_KEY: 'env-key-wins' }, cwd: home });
    expect(overridden.stderr).toMatch(/^marie: UNAUTHENTICATED/);

    expect((await runCli(['logout'], { env: bare, cwd: home })).code).toBe(0);
    expect(existsSync(file)).toBe(false);
  });
});

describe('.env', () => {
  it('is read from the working directory; real environment variables win over it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'marie-dotenv-'));
    try {
      await writeFile(path.join(dir, '.env'), `MARIE_URL=${t.url}\nMARIE_KEY=key-from-dotenv\n`);
      const bare = { HOME: home, XDG_CONFIG_HOME: path.join(dir, 'cfg') };
      const fromFile = await runCli(['queues'], { env: bare, cwd: dir });
      // The URL and the (wrong) key came from .env: the server was reached and refused the key.
      expect(fromFile.stderr).toMatch(/^marie: UNAUTHENTICATED/);
      const realWins = await runCli(['queues', '--json'], { env: { ...bare, MARIE_KEY: key }, cwd: dir });
      expect(realWins.code, realWins.stderr).toBe(0);
      expect(Array.isArray(JSON.parse(realWins.stdout))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('marie apikey (on the database)', () => {
  it('revoke of an unknown id exits non-zero with NOT_FOUND; create --json gives the key', async () => {
    const dbEnv = {
      HOME: home,
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: inject('queuePrefix'),
    };
    const r = await runCli(['apikey', 'revoke', randomUUID()], { env: dbEnv, cwd: home });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^marie: NOT_FOUND: .+\n$/);

    const c = await runCli(
      ['apikey', 'create', '--tenant', `cli-${randomUUID().slice(0, 8)}`, '--role', 'reader', '--json'],
      {
        env: dbEnv,
        cwd: home,
      },
    );
    expect(c.code, c.stderr).toBe(0);
    const created = JSON.parse(c.stdout) as { id: string; role: string; key: string };
    expect(created.role).toBe('reader');
    const q = await marie(['queues', '--json'], { MARIE_KEY: created.key });
    expect(q.code, q.stderr).toBe(0);
    const revoke = await runCli(['apikey', 'revoke', created.id, '--json'], { env: dbEnv, cwd: home });
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(JSON.parse(revoke.stdout)).toMatchObject({ id: created.id });
  });

  it('revoke with Redis unreachable revokes the key and warns that the servers were not told', async () => {
    const dbEnv = { HOME: home, DATABASE_URL: inject('databaseUrl'), QUEUE_PREFIX: inject('queuePrefix') };
    const c = await runCli(
      ['apikey', 'create', '--tenant', `cli-${randomUUID().slice(0, 8)}`, '--role', 'reader', '--json'],
      { env: { ...dbEnv, REDIS_URL: inject('redisUrl') }, cwd: home },
    );
    expect(c.code, c.stderr).toBe(0);
    const created = JSON.parse(c.stdout) as { id: string; key: string };
    const away = `redis://127.0.0.1:${await freePort()}`;
    const revoke = await runCli(['apikey', 'revoke', created.id], { env: { ...dbEnv, REDIS_URL: away }, cwd: home });
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toMatch(/^Revoked /);
    expect(revoke.stderr).toContain('warning: the running servers were not told');
    const q = await marie(['queues', '--json'], { MARIE_KEY: created.key });
    expect(q.code).not.toBe(0);
  });
});

it('the bin is the one package.json names', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  expect(path.resolve(ROOT, pkg.bin.marie)).toBe(MARIE_BIN);
});
