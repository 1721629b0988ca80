import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from './dag-helpers';

/** The repository root: `npm start` and `npx marie` run there, as users run them. */
export const ROOT = path.resolve(__dirname, '../..');

/** A process the test started as a user would, in a process group of its own. */
export interface Spawned {
  child: ChildProcess;
  /** Its process group (the pid of what was spawned). */
  pgid: number;
  output(): string;
  /** The JSON log lines seen so far. */
  logs(): Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function launch(command: string, args: string[], env: Record<string, string | undefined>): Spawned {
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    pgid: child.pid!,
    output: () => out,
    logs: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    exited,
  };
}

/** The first log line with message `msg` (waits for it). */
export function logLine(p: Spawned, msg: string | RegExp, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const match = (m: unknown) => (typeof msg === 'string' ? m === msg : typeof m === 'string' && msg.test(m));
  return waitFor(
    async () => p.logs().find((l) => match(l.msg)),
    timeoutMs,
    () => `log "${String(msg)}" in:\n${p.output()}`,
  );
}

/** Whether any process is left in the process group. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the processes whose command line mentions `text` (e.g. an embedded cluster's folder). */
export function pidsMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Kill what is left of a spawned group (after a failed assertion). */
export function killGroup(p: Spawned | undefined): void {
  if (p && groupAlive(p.pgid)) process.kill(-p.pgid, 'SIGKILL');
}

/**
 * A compiled executor module (plain Node loads it through WORKER_CONFIG / --config) whose
 * every request hangs until the worker aborts it, like the noop executor's `hang`.
 */
export const holdModule = (sdk: string) => `'use strict';
const { Executor, requests } = require(${JSON.stringify(sdk)});
class HoldExecutor extends Executor {
  hold(_input, ctx) {
    return new Promise((_resolve, reject) => {
      if (ctx.signal.aborted) return reject(new Error('aborted'));
      ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }
}
requests()(HoldExecutor.prototype, 'hold', Object.getOwnPropertyDescriptor(HoldExecutor.prototype, 'hold'));
exports.HoldExecutor = HoldExecutor;
`;
