import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** The CLI as users run it: `npx marie` is bin/marie.js on the built dist/. */
export const MARIE_BIN = path.resolve(__dirname, '../../bin/marie.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  out(): string;
  done: Promise<CliResult>;
}

/** Exactly the given variables (a hermetic environment: nothing of the test runner's leaks in). */
export function cliEnv(vars: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
  return env;
}

export interface CliOptions {
  env: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
}

export const startCli = (args: string[], opts: CliOptions): CliRun => startCliLike(MARIE_BIN, args, opts);

/** A Node script run as users run it, with exactly the given environment. */
export function startCliLike(script: string, args: string[], opts: CliOptions): CliRun {
  const child = spawn(process.execPath, [script, ...args], {
    env: cliEnv(opts.env),
    cwd: opts.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  child.stdin.end(opts.input ?? '');
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, out: () => stdout, done };
}

export const runCli = (
  args: string[],
  opts: { env: Record<string, string | undefined>; cwd?: string; input?: string },
) => startCli(args, opts).done;
