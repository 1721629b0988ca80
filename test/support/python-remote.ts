import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { environment } from '../../src/config/config';
import type { ExecutorInvoker } from '../../src/core/executor-call';
import { RemoteExecutor, type RemoteWith } from '../../src/worker/remote';
import { waitFor } from './dag-helpers';
import { freePort } from './private-stores';
import { launch, ROOT, type Spawned } from './spawned';
import { startTestApp, type TestApp } from './test-app';

export { freePort };

export const PY_EXECUTORS = path.join(ROOT, 'test/fixtures/python/remote_executors.py');
export const PY_GATEWAY = path.join(ROOT, 'test/fixtures/python/marie_gateway.py');
export const FAKE_SMI = path.join(ROOT, 'test/fixtures/bin/nvidia-smi');

/** Whether something accepts connections on the port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** A Python process serving on `port`, its notes written to `out`. */
export interface PyServer {
  port: number;
  url: string;
  out: string;
  proc: Spawned;
}

/**
 * Start `script <port> <out> ...args` with marie_cp on PYTHONPATH and wait for its port.
 * `env`: extra variables (NVIDIA_SMI_PATH to a stand-in, FAKE_NVIDIA_SMI_OUTPUT).
 */
export async function startPython(
  script: string,
  opts: { port?: number; out?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<PyServer> {
  const port = opts.port ?? (await freePort());
  const out = opts.out ?? mkdtempSync(path.join(os.tmpdir(), 'marie-py-'));
  const proc = launch('python3', ['-u', script, String(port), out, ...(opts.args ?? [])], {
    // PATH, HOME and whatever python3 needs (pyenv), as this process has them.
    ...environment(),
    PYTHONPATH: path.join(ROOT, 'sdk/python'),
    PYTHONDONTWRITEBYTECODE: '1',
    // No GPU unless the test gives a stand-in nvidia-smi.
    NVIDIA_SMI_PATH: path.join(out, 'no-nvidia-smi'),
    ...opts.env,
  });
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`python exited ${proc.child.exitCode}: ${proc.output()}`);
      return portOpen(port);
    },
    30_000,
    () => `${path.basename(script)} on port ${port}:\n${proc.output()}`,
  );
  return { port, url: `http://127.0.0.1:${port}`, out, proc };
}

/** SIGKILL its process group and wait until it is gone. */
export async function killPython(p: PyServer | undefined): Promise<void> {
  if (!p || p.proc.child.exitCode !== null || p.proc.child.signalCode !== null) return;
  try {
    process.kill(-p.proc.pgid, 'SIGKILL');
  } catch {
    return;
  }
  await p.proc.exited;
}

/** Kill it and remove its notes. */
export async function disposePython(p: PyServer | undefined): Promise<void> {
  await killPython(p);
  if (p) rmSync(p.out, { recursive: true, force: true });
}

/** A note the Python side wrote (waits for it). */
export function readNote<T = Record<string, unknown>>(
  p: Pick<PyServer, 'out'>,
  name: string,
  timeoutMs = 30_000,
): Promise<T> {
  const file = path.join(p.out, name);
  return waitFor(
    async () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null),
    timeoutMs,
    `note ${name}`,
  );
}

/** The note if it exists now. */
export function noteNow<T = Record<string, unknown>>(p: Pick<PyServer, 'out'>, name: string): T | null {
  const file = path.join(p.out, name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null;
}

/** A RemoteExecutor on the server, checking its status often (tests). */
export function remoteOf(
  name: string,
  url: string,
  more: Partial<Omit<RemoteWith, 'url'>> & { concurrency?: number } = {},
): RemoteExecutor {
  const { concurrency, ...w } = more;
  return new RemoteExecutor({ name, concurrency: concurrency ?? 4, with: { url, statusIntervalSeconds: 0.2, ...w } });
}

/**
 * A worker alone (id `id`, its executors `executors`) calling `api` back through
 * PUBLIC_API_URL, with no GPU of its own: what the remote-executor tests run beside a
 * Python process.
 */
export function startRemoteWorker(api: TestApp, id: string, executors: ExecutorInvoker[]): Promise<TestApp> {
  return startTestApp({
    roles: ['worker'],
    env: {
      WORKER_ID: id,
      PUBLIC_API_URL: api.url,
      WORKER_GRACE_MS: '200',
      NVIDIA_SMI_PATH: path.join(os.tmpdir(), `missing-${id}`, 'nvidia-smi'),
    },
    executors,
  });
}
