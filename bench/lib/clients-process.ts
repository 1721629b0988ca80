import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ClientsCommand, ClientsReport } from './fanout-clients';

const ROOT = path.resolve(__dirname, '../..');

/** The taskId of the events the benchmark sends to learn that every subscription is live; not measured. */
export const WARM_UP = 'warm-up';

type Result = Extract<ClientsReport, { type: 'result' }>;

/**
 * A child process holding a benchmark's client sockets (bench/lib/fanout-clients.ts, run
 * through vite-node): commands go over IPC, the latencies come back the same way.
 */
export class ClientsProcess {
  private readonly child: ChildProcess;
  private readonly waiters: ((m: ClientsReport) => void)[] = [];
  private exited: Promise<void>;

  constructor() {
    this.child = fork(
      path.join(ROOT, 'node_modules/vite-node/dist/cli.mjs'),
      ['--config', 'vitest.config.mts', 'bench/lib/fanout-clients.ts'],
      { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    this.child.on('message', (m: ClientsReport) => this.waiters.shift()?.(m));
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
  }

  private ask(cmd: ClientsCommand): Promise<ClientsReport> {
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.child.send(cmd, (err) => err && reject(err));
      void this.exited.then(() => reject(new Error('the clients process exited')));
    });
  }

  /** Open the sockets; resolves when every one is connected (graphql-ws: acknowledged). */
  async open(cmd: Extract<ClientsCommand, { type: 'open' }>): Promise<void> {
    const r = await this.ask(cmd);
    if (r.type === 'failed') throw new Error(`clients process: ${r.error}`);
  }

  /** Wait until `expected` frames have arrived (or `timeoutMs`); what arrived. */
  async collect(expected: number, timeoutMs: number): Promise<Result> {
    const r = await this.ask({ type: 'collect', expected, timeoutMs });
    if (r.type !== 'result') throw new Error(`clients process answered ${r.type}`);
    return r;
  }

  /** How many subscribers have received a warm-up event (waiting up to `timeoutMs` for all). */
  async warmed(timeoutMs: number): Promise<number> {
    const r = await this.ask({ type: 'warmed', timeoutMs });
    if (r.type !== 'warmed') throw new Error(`clients process answered ${r.type}`);
    return r.subscribers;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) this.child.send({ type: 'close' } satisfies ClientsCommand);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
