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

/** Per step of a chain (Postgres clock, ms): start → next start (the whole step, call included), and finish → next start. */
async function chainSteps(pg: Pool, dagId: string): Promise<{ periods: number[]; gaps: number[] }> {
  const { rows } = await pg.query<{ period: number | null; gap: number | null }>(
    `SELECT extract(epoch FROM a.started_at - lag(a.started_at) OVER w) * 1000 AS period,
            extract(epoch FROM a.started_at - lag(a.finished_at) OVER w) * 1000 AS gap
       FROM jobs j JOIN job_attempts a ON a.job_id = j.id
      WHERE j.dag_id = $1 WINDOW w AS (ORDER BY j.job_level) ORDER BY j.job_level`,
    [dagId],
  );
  return {
    periods: rows.filter((r) => r.period !== null).map((r) => Number(r.period)),
    gaps: rows.filter((r) => r.gap !== null).map((r) => Number(r.gap)),
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

/** A warm-up chain, then the measured one, on `executor`. */
async function runChain(env: BenchEnv, n: number, executor: string, remote: RemoteExecutor | null) {
  const b = await env.startApp(['api', 'scheduler', 'worker'], {}, remote ? [remote] : []);
  try {
    const t = await b.tenant();
    const warm = await b.gql(SUBMIT_DAG, { input: { name: 'warm', jobs: chain(5, executor) } }, t.key);
    await waitForDag(env.pg, warm.submitDag.id, 60_000);
    const d = await b.gql(SUBMIT_DAG, { input: { name: 'chain', jobs: chain(n, executor) } }, t.key);
    await waitForDag(env.pg, d.submitDag.id, 300_000);
    return await chainSteps(env.pg, d.submitDag.id);
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
    'The remote step adds, per job, the HTTP round trip to the Python SDK (its threading server, a handler thread per call), the upstream look-up the sdk context carries (one SQL query), and signing the attempt token.',
  async run(env) {
    const n = pick(env.opts.size, { tiny: 10, quick: 50, full: 100 });
    const local = await runChain(env, n, 'noop', null);
    const py = await startPython();
    let remote: Awaited<ReturnType<typeof runChain>>;
    try {
      const inv = new RemoteExecutor({ name: EXECUTOR, concurrency: 8, with: { url: py.url } });
      remote = await runChain(env, n, EXECUTOR, inv);
    } finally {
      py.child.kill('SIGKILL');
    }
    const diff = median(remote.periods) - median(local.periods);
    return {
      rows: [
        {
          metric: `step p50 ms, start → next start (${n}-job chain), remote vs in-process`,
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
          metric: 'diagnostic: finish → next start p50 ms (the engine’s part, no call)',
          ours: fmt(median(remote.gaps), 2),
          baseline: fmt(median(local.gaps), 2),
          ratio: ratioText(median(remote.gaps), median(local.gaps), 2),
          target: '',
          verdict: 'info',
        },
      ],
      notes: [
        `The remote step’s p50 is ${fmt(diff, 2)} ms over the in-process one: what the call itself costs (start → finish of an attempt is the HTTP round trip, the token and the context’s upstream look-up).`,
      ],
    };
  },
};
