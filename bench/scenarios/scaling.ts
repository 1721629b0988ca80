import os from 'node:os';
import { backendsOf, cpuMeter, pidsOf } from '../lib/cpu';
import { SUBMIT_DAG, waitForDag, type BenchEnv } from '../lib/env';
import { pick, ratioText, type ResultRow, type Scenario } from '../lib/scenario';
import { fmt, nowMs } from '../lib/stats';
import { startWorkerProcesses, stopProcesses } from '../lib/worker-processes';
import { rawBulk } from './throughput';

/** The total noop concurrency, split evenly over the worker processes (the throughput scenario's). */
const TOTAL_CONCURRENCY = 128;

const noop = (id: string, dependencies: string[] = []) => ({ id, name: 'noop', executor: 'noop', dependencies });

async function walSyncs(env: BenchEnv): Promise<number> {
  const { rows } = await env.pg.query<{ n: string }>(`SELECT wal_sync::text AS n FROM pg_stat_wal`);
  return Number(rows[0]?.n ?? 0);
}

/** One fan-out/fan-in DAG of `jobs` noop jobs on `n` worker processes; jobs/s and CPU by component. */
async function runOn(env: BenchEnv, n: number, jobs: number) {
  const b = await env.startApp(['api', 'scheduler']);
  const children = await startWorkerProcesses(env, n, `bench-${n}-`, TOTAL_CONCURRENCY).catch(async (err) => {
    await b.stop();
    throw err;
  });
  try {
    const t = await b.tenant();
    const middle = Array.from({ length: jobs - 2 }, (_, i) => `m${i}`);
    const input = {
      name: `scale-${n}`,
      jobs: [noop('root'), ...middle.map((id) => noop(id, ['root'])), noop('sink', middle)],
    };
    const meter = cpuMeter({
      workers: () => children.map((c) => c.pid ?? 0).filter((p) => p > 0),
      apiScheduler: () => [process.pid],
      postgres: backendsOf(env.pg),
      redis: () => pidsOf('redis-server'),
    });
    const wal0 = await walSyncs(env);
    await meter.begin();
    const t0 = nowMs();
    const d = await b.gql(SUBMIT_DAG, { input }, t.key);
    await waitForDag(env.pg, d.submitDag.id, 600_000);
    const seconds = (nowMs() - t0) / 1000;
    const cpu = await meter.end();
    const wal = (await walSyncs(env)) - wal0;
    return { rate: jobs / seconds, cpu, walPerSecond: wal / seconds };
  } finally {
    await stopProcesses(children);
    await b.stop();
  }
}

/** What one finished job leaves in PostgreSQL, by table (heap + indexes + TOAST), over every job of the runs. */
async function storagePerJob(env: BenchEnv): Promise<string> {
  await env.pg.query('VACUUM ANALYZE jobs, job_attempts, job_dependencies, event_log');
  const { rows } = await env.pg.query<{ t: string; bytes: string }>(
    `SELECT t, pg_total_relation_size(t::regclass)::text AS bytes
       FROM unnest(ARRAY['jobs', 'job_attempts', 'job_dependencies', 'event_log']) AS t`,
  );
  const { rows: c } = await env.pg.query<{ n: number }>('SELECT count(*)::int AS n FROM jobs');
  const n = Math.max(1, c[0]?.n ?? 1);
  const per = rows.map((r) => ({ t: r.t, b: Number(r.bytes) / n }));
  const total = per.reduce((a, r) => a + r.b, 0);
  return `Storage per finished job (${fmt(n, 0)} jobs, indexes included): ${per.map((r) => `${r.t} ${fmt(r.b, 0)} B`).join(', ')}; ${fmt(total, 0)} B in all.`;
}

export const scaling: Scenario = {
  name: 'scaling',
  ours: `the throughput scenario’s fan-out/fan-in DAG run by 1, 2 and 4 worker processes (\`node dist/src/main.js --role worker\`, noop concurrency ${TOTAL_CONCURRENCY} split between them), the api and scheduler roles in the benchmark’s process`,
  baseline: `plain BullMQ, the same N jobs added in bulk and processed at concurrency ${TOTAL_CONCURRENCY} in one process`,
  anchor: 'issue 18: what binds at each step (Postgres CPU, WAL flush, Redis, Node), measured',
  async run(env) {
    const jobs = pick(env.opts.size, { tiny: 200, quick: 2_000, full: 10_000 });
    const raw = await rawBulk(env, jobs);
    const rows: ResultRow[] = [];
    const notes: string[] = [];
    for (const n of [1, 2, 4]) {
      const r = await runOn(env, n, jobs);
      rows.push({
        metric: `jobs/s, ${n} worker process${n > 1 ? 'es' : ''} × ${TOTAL_CONCURRENCY / n} (${fmt(jobs, 0)} jobs)`,
        ours: fmt(r.rate, 0),
        baseline: fmt(raw, 0),
        ratio: ratioText(r.rate, raw),
        target: '',
        verdict: 'info',
      });
      notes.push(
        `${n} worker process${n > 1 ? 'es' : ''}: CPU over the run, % of one core: workers ${fmt(r.cpu.workers, 0)}, api + scheduler (and the benchmark’s client) ${fmt(r.cpu.apiScheduler, 0)}, PostgreSQL backends of the benchmark database ${fmt(r.cpu.postgres, 0)}, Redis ${fmt(r.cpu.redis, 0)}; the machine ${fmt(r.cpu.machine, 0)}% busy over its ${os.cpus().length} cores; WAL flushes ${fmt(r.walPerSecond, 0)}/s (server-wide).`,
      );
    }
    notes.push(await storagePerJob(env));
    return { rows, notes };
  },
};
