import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitFor } from './dag-helpers';
import { freePort } from './private-stores';

const run = promisify(execFile);

/** One node's connection that fails at once instead of retrying (for probes and checks). */
export const nodeClient = (port: number): Redis => {
  const r = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  return r;
};

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = nodeClient(port);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/**
 * A Redis Cluster of the test's own: `masters` redis-server processes (cluster mode, no
 * persistence) on free ports in a temporary folder, joined by `redis-cli --cluster
 * create` with no replicas. `stop` kills them and removes the folder. Never the shared Redis.
 */
export class LocalRedisCluster {
  private constructor(
    readonly dir: string,
    readonly ports: number[],
    private readonly procs: ChildProcess[],
  ) {}

  /** `127.0.0.1:P1,127.0.0.1:P2,…` (REDIS_CLUSTER_NODES). */
  get nodes(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(',');
  }

  /** `redis+cluster://127.0.0.1:P1,…` (a REDIS_URL). */
  get url(): string {
    return `redis+cluster://${this.nodes}`;
  }

  static async start(masters = 3): Promise<LocalRedisCluster> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'marie-redis-cluster-'));
    const ports: number[] = [];
    const procs: ChildProcess[] = [];
    const cluster = new LocalRedisCluster(dir, ports, procs);
    try {
      for (let i = 0; i < masters; i++) {
        // The cluster bus port is set too: port + 10000 may be past 65535 for an ephemeral port.
        const [port, busPort] = [await freePort(), await freePort()];
        ports.push(port);
        procs.push(
          spawn(
            'redis-server',
            [
              '--port',
              String(port),
              '--cluster-port',
              String(busPort),
              '--bind',
              '127.0.0.1',
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              path.join(dir, `nodes-${port}.conf`),
              '--cluster-node-timeout',
              '5000',
              '--save',
              '',
              '--appendonly',
              'no',
              '--daemonize',
              'no',
              '--dir',
              dir,
              '--logfile',
              path.join(dir, `redis-${port}.log`),
            ],
            { stdio: 'ignore' },
          ),
        );
      }
      for (const port of ports) {
        await waitFor(
          () => ask(port, async (r) => (await r.ping()) === 'PONG'),
          20_000,
          () => `redis-server on ${port} (${cluster.exited()})`,
        );
      }
      await run(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: 60_000 },
      );
      for (const port of ports) {
        await waitFor(
          () => ask(port, async (r) => String(await r.cluster('INFO')).includes('cluster_state:ok')),
          30_000,
          `cluster_state:ok on ${port}`,
        );
      }
      return cluster;
    } catch (err) {
      const logs = await cluster.logs();
      await cluster.stop();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
    }
  }

  /** Run `fn` on a plain connection to one node (a check of what that node holds). */
  onNode<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
    return ask(port, fn);
  }

  private exited(): string {
    const gone = this.procs.filter((p) => p.exitCode !== null || p.signalCode !== null);
    return gone.length ? `${gone.length} exited` : 'all running';
  }

  private async logs(): Promise<string> {
    const parts = await Promise.all(
      this.ports.map((p) => readFile(path.join(this.dir, `redis-${p}.log`), 'utf8').catch(() => '')),
    );
    return parts.map((text, i) => `--- redis ${this.ports[i]}\n${text.slice(-2_000)}`).join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(async (proc) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await exited;
      }),
    );
    await rm(this.dir, { recursive: true, force: true });
  }
}
