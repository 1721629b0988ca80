import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitFor } from './dag-helpers';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Ports this process has handed out: never twice, even once their server is gone. */
const handedOut = new Set<number>();

/** Whether `port` can be bound on 127.0.0.1 now (closed again at once). */
const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/**
 * A port nothing listens on now, for a server a test starts later. Drawn at random below
 * Linux's ephemeral range (32768-60999): a port the kernel picked (`listen(0)`) is one it
 * also gives to outgoing connections, so between the pick and the server's bind a client
 * socket could take it (a Redis Cluster node's bus port did: "bind: Address already in use").
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port in 20000-31999 after 200 tries');
}

/**
 * A Redis of the test's own (never the shared one): no persistence, so a restart comes
 * back empty, as a lost Redis does. `kill` is SIGKILL; `start` again uses the same port.
 */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.proc = proc;
    await waitFor(
      async () => {
        const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      },
      10_000,
      `redis on ${this.port}`,
    );
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }
}

/**
 * A PostgreSQL 15 cluster of the test's own in a temporary folder (initdb / pg_ctl, run
 * as the postgres user when we are root), trust auth, on its own port; `destroy` stops
 * it and deletes the folder. Never the shared cluster.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(port: number): Promise<PrivatePostgres> {
    const root = await mkdtemp(path.join(os.tmpdir(), 'marie-private-pg-'));
    await chmod(root, 0o755);
    const pg = new PrivatePostgres(path.join(root, 'data'), port);
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(root, Number(stdout.trim()), Number(gid.trim()));
    }
    await pg.pg('initdb', ['-D', pg.dir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    return pg;
  }

  private async pg(bin: string, args: string[]): Promise<void> {
    const cmd = path.join(PG_BIN, bin);
    if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', cmd, ...args]);
    else await run(cmd, args);
  }

  async start(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    await this.pg('pg_ctl', ['-D', this.dir, '-o', opts, '-l', path.join(this.dir, 'server.log'), '-w', 'start']);
  }

  async stop(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.dir, '-m', 'fast', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    await rm(path.dirname(this.dir), { recursive: true, force: true });
  }
}
