import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { Pool } from 'pg';
import { RemoteExecutor } from '../../src/worker/remote';
import { SUBMIT_DAG, waitFor, waitForDag, type BenchEnv } from '../lib/env';
import { pick, ratioText, type Scenario } from '../lib/scenario';
import { fmt, median, p99 } from '../lib/stats';

const ROOT = path.resolve(__dirname, '../..');
const EXECUTOR = 'remote-noop';

/**
 * Per step of a chain (Postgres clock, ms): start → next start (the whole step, call
 * included), and the call itself (an attempt's start → its finish).
 */
async function chainSteps(pg: Pool, dagId: string): Promise<{ periods: number[]; calls: number[] }> {
  const { rows } = await pg.query<{ period: number | null; call: number }>(
    `SELECT extract(epoch FROM a.started_at - lag(a.started_at) OVER (ORDER BY j.job_level)) * 1000 AS period,
            extract(epoch FROM a.finished_at - a.started_at) * 1000 AS call
       FROM jobs j JOIN job_attempts a ON a.job_id = j.id
      WHERE j.dag_id = $1 ORDER BY j.job_level`,
    [dagId],
  );
  return {
    periods: rows.filter((r) => r.period !== null).map((r) => Number(r.period)),
    calls: rows.map((r) => Number(r.call)),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The Python SDK serving a no-op executor (bench/python/remote_noop.py) on a free port. */
async function startPython(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('python3', ['-u', path.join(ROOT, 'bench/python/remote_noop.py'), String(port)], {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'sdk/python'), NVIDIA_SMI_PATH: '/nonexistent/nvidia-smi' },
    stdio: 'ignore',
  });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) throw new Error(`python3 exited ${child.exitCode}`);
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      }),
    30_000,
  );
  return { url: `http://127.0.0.1:${port}`, child };
}

const chain = (n: number, executor: string) =>
  Array.from({ length: n }, (_, i) => ({
    id: `s${i}`,
    name: executor === 'noop' ? 'noop' : 'step',
    executor,
    dependencies: i ? [`s${i - 1}`] : [],
  }));

type Steps = Awaited<ReturnType<typeof chainSteps>>;

/**
 * One app hosting both executors; after a warm-up chain on each, `rounds` chains on the
 * in-process `noop` and on the remote one, alternating, so that load on a shared machine
 * falls on both alike.
 */
async function runChains(env: BenchEnv, n: number, rounds: number, remote: RemoteExecutor) {
  const b = await env.startApp(['api', 'scheduler', 'worker'], {}, [remote]);
  const local: Steps = { periods: [], calls: [] };
  const far: Steps = { periods: [], calls: [] };
  try {
    const t = await b.tenant();
    const run = async (executor: string, length: number, into: Steps | null) => {
      const d = await b.gql(SUBMIT_DAG, { input: { name: `chain-${executor}`, jobs: chain(length, executor) } }, t.key);
      await waitForDag(env.pg, d.submitDag.id, 300_000);
      if (!into) return;
      const s = await chainSteps(env.pg, d.submitDag.id);
      into.periods.push(...s.periods);
      into.calls.push(...s.calls);
    };
    await run('noop', 5, null);
    await run(EXECUTOR, 5, null);
    for (let r = 0; r < rounds; r++) {
      await run('noop', n, local);
      await run(EXECUTOR, n, far);
    }
    return { local, remote: far };
  } finally {
    await b.stop();
  }
}

export const remoteStep: Scenario = {
  name: 'remote-step',
  ours: 'the `step` chain on a remote no-op executor: `jtype: RemoteExecutor` (sdk protocol, attempt token, keep-alive HTTP) calling a Python process served by `marie_cp`; a step is one attempt’s start to the next one’s (Postgres clock), the HTTP call included',
  baseline: 'the same chain on the in-process `noop` executor, same app and timings',
  anchor: 'target: the remote step’s p50 within 3 ms of the in-process step’s',
  whenMissed:
    'A remote step adds, per job, the upstream look-up its context carries (one SQL query), signing the token and a keep-alive HTTP exchange with another process: the Python server’s connection thread reads the call, its handler thread runs it, then the worker reads the answer. On an idle machine that exchange is well under a millisecond; when the machine’s cores are oversubscribed, each hop between processes and threads waits for a CPU, which a call that never leaves the worker’s process does not.',
  async run(env) {
    const n = pick(env.opts.size, { tiny: 10, quick: 50, full: 100 });
    const rounds = pick(env.opts.size, { tiny: 1, quick: 2, full: 3 });
    const py = await startPython();
    let local: Steps;
    let remote: Steps;
    try {
      const inv = new RemoteExecutor({ name: EXECUTOR, concurrency: 8, with: { url: py.url } });
      ({ local, remote } = await runChains(env, n, rounds, inv));
    } finally {
      py.child.kill('SIGKILL');
    }
    const diff = median(remote.periods) - median(local.periods);
    return {
      rows: [
        {
          metric: `step p50 ms, start → next start (${rounds} × ${n}-job chains each), remote vs in-process`,
          ours: fmt(median(remote.periods), 2),
          baseline: fmt(median(local.periods), 2),
          ratio: ratioText(median(remote.periods), median(local.periods), 2),
          target: '≤ in-process + 3 ms',
          verdict: diff <= 3 ? 'met' : 'missed',
        },
        {
          metric: 'step p99 ms, start → next start',
          ours: fmt(p99(remote.periods), 2),
          baseline: fmt(p99(local.periods), 2),
          ratio: ratioText(p99(remote.periods), p99(local.periods), 2),
          target: '',
          verdict: 'info',
        },
        {
          metric: 'diagnostic: the call p50 ms (an attempt’s start → finish)',
          ours: fmt(median(remote.calls), 2),
          baseline: fmt(median(local.calls), 2),
          ratio: ratioText(median(remote.calls), median(local.calls), 2),
          target: '',
          verdict: 'info',
        },
      ],
      notes: [
        `The remote step’s p50 is ${fmt(diff, 2)} ms over the in-process one. The chains alternate on one app so that a shared machine’s load falls on both alike; the call row is what the remote adds per job (the upstream look-up the context carries, signing the token, the keep-alive HTTP round trip to the Python SDK’s threading server) beside the in-process call, which only completes.`,
      ],
    };
  },
};
