import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { roleProcessEnv, type BenchEnv } from './env';

const ROOT = path.resolve(__dirname, '../..');

/**
 * `n` worker processes as deployed (`node dist/src/main.js --role worker`) on the
 * benchmark's database, Redis and prefix, named `<prefix><i>`, sharing `concurrency` noop
 * slots. Resolves once all of them have registered (heartbeat in `workers`).
 */
export async function startWorkerProcesses(
  env: BenchEnv,
  n: number,
  prefix: string,
  concurrency: number,
): Promise<ChildProcess[]> {
  const children = Array.from({ length: n }, (_, i) =>
    spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js'), '--role', 'worker'], {
      cwd: ROOT,
      stdio: 'ignore',
      env: roleProcessEnv(env, { WORKER_ID: `${prefix}${i}`, NOOP_CONCURRENCY: String(concurrency / n) }),
    }),
  );
  try {
    const deadline = Date.now() + 60_000;
    while ((await liveWorkers(env, prefix)) < n) {
      const dead = children.find((c) => c.exitCode !== null);
      if (dead) throw new Error(`a worker process exited with ${dead.exitCode} (npm run build first?)`);
      if (Date.now() > deadline) throw new Error(`${n} worker processes did not register in 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stopProcesses(children);
    throw err;
  }
  return children;
}

async function liveWorkers(env: BenchEnv, prefix: string): Promise<number> {
  const { rows } = await env.pg.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM workers WHERE id LIKE $1 AND last_seen_at > now() - interval '10 seconds'`,
    [`${prefix}%`],
  );
  return rows[0]?.n ?? 0;
}

/** SIGTERM each (SIGKILL after 10 s) and wait for it to exit. */
export async function stopProcesses(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}
