import { Queue, Worker } from 'bullmq';
import type { Pool } from 'pg';
import { fmt, median, nowMs, p99 } from '../lib/stats';
import { SUBMIT_DAG, waitForDag, type BenchEnv } from '../lib/env';
import { pick, ratioText, type Scenario } from '../lib/scenario';

const NOOP_CONCURRENCY = 8;

/** Gaps (ms) between one attempt's finish and the next level's attempt start, along a chain. */
async function chainGaps(pg: Pool, dagId: string): Promise<number[]> {
  const { rows } = await pg.query<{ gap: number | null }>(
    `SELECT extract(epoch FROM a.started_at - lag(a.finished_at) OVER (ORDER BY j.job_level)) * 1000 AS gap
       FROM jobs j JOIN job_attempts a ON a.job_id = j.id
      WHERE j.dag_id = $1 ORDER BY j.job_level`,
    [dagId],
  );
  return rows.filter((r) => r.gap !== null).map((r) => Number(r.gap));
}

/** Plain BullMQ: each processor records its finish and adds the next job; the gap is finish → next start. */
async function rawChain(env: BenchEnv, n: number): Promise<number[]> {
  const connection = env.redis();
  const name = 'raw-chain';
  const queue = new Queue(name, { connection, prefix: `${env.queuePrefix}-raw` });
  const starts: number[] = [];
  const finishes: number[] = [];
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const worker = new Worker(
    name,
    async (job) => {
      const i = job.data.i as number;
      starts[i] = nowMs();
      finishes[i] = nowMs();
      if (i + 1 < n) await queue.add('step', { i: i + 1 }, { removeOnComplete: true });
      else resolveDone();
    },
    { connection: env.redis(), prefix: `${env.queuePrefix}-raw`, concurrency: NOOP_CONCURRENCY },
  );
  try {
    await worker.waitUntilReady();
    await queue.add('step', { i: 0 }, { removeOnComplete: true });
    await done;
  } finally {
    await worker.close();
    await queue.close();
    connection.disconnect();
  }
  return starts.slice(1).map((s, i) => s - finishes[i]!);
}

/** Plain BullMQ: `n` no-op jobs added in bulk and processed; jobs/s from the first add to the last completion. */
async function rawBulk(env: BenchEnv, n: number): Promise<number> {
  const connection = env.redis();
  const name = 'raw-bulk';
  const queue = new Queue(name, { connection, prefix: `${env.queuePrefix}-raw` });
  let count = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const worker = new Worker(
    name,
    async () => {
      count += 1;
      if (count === n) resolveDone();
    },
    { connection: env.redis(), prefix: `${env.queuePrefix}-raw`, concurrency: NOOP_CONCURRENCY },
  );
  try {
    await worker.waitUntilReady();
    const t0 = nowMs();
    for (let s = 0; s < n; s += 1000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1000, n - s) }, (_, i) => ({
          name: 'noop',
          data: { i: s + i },
          opts: { removeOnComplete: true, removeOnFail: true },
        })),
      );
    }
    await done;
    return (n * 1000) / (nowMs() - t0);
  } finally {
    await worker.close();
    await queue.close();
    connection.disconnect();
  }
}

const noop = (id: string, dependencies: string[] = []) => ({ id, name: 'noop', executor: 'noop', dependencies });

export const stepLatency: Scenario = {
  name: 'step',
  ours: 'a chain of `noop` jobs (one DAG) run by the in-process API, scheduler and worker roles; the gap from one attempt’s `finished_at` to the next attempt’s `started_at` (Postgres clock)',
  baseline: 'a hand-written loop on plain BullMQ: each processor adds the next job; gap from its finish to the next processor’s start',
  anchor: 'target p50 ≤ 10 ms, p99 ≤ 30 ms; Hatchet ~25 ms, Temporal 28–90 ms, Prefect ~55 ms, Airflow ~2 s per step',
  async run(env) {
    const n = pick(env.opts.size, { tiny: 10, quick: 50, full: 100 });
    const b = await env.startApp(['api', 'scheduler', 'worker'], { NOOP_CONCURRENCY: String(NOOP_CONCURRENCY) });
    try {
      const t = await b.tenant();
      // Warm-up chain, not counted.
      const warm = await b.gql(
        SUBMIT_DAG,
        { input: { name: 'warm', jobs: Array.from({ length: 5 }, (_, i) => noop(`s${i}`, i ? [`s${i - 1}`] : [])) } },
        t.key,
      );
      await waitForDag(env.pg, warm.submitDag.id, 30_000);
      const d = await b.gql(
        SUBMIT_DAG,
        { input: { name: 'chain', jobs: Array.from({ length: n }, (_, i) => noop(`s${i}`, i ? [`s${i - 1}`] : [])) } },
        t.key,
      );
      await waitForDag(env.pg, d.submitDag.id, 120_000);
      const ours = await chainGaps(env.pg, d.submitDag.id);
      const raw = await rawChain(env, n);
      return {
        rows: [
          {
            metric: `step p50 ms (${n}-job chain)`,
            ours: fmt(median(ours), 2),
            baseline: fmt(median(raw), 2),
            ratio: ratioText(median(ours), median(raw), 1),
            target: '≤ 10 ms',
            verdict: median(ours) <= 10 ? 'met' : 'missed',
          },
          {
            metric: 'step p99 ms',
            ours: fmt(p99(ours), 2),
            baseline: fmt(p99(raw), 2),
            ratio: ratioText(p99(ours), p99(raw), 1),
            target: '≤ 30 ms',
            verdict: p99(ours) <= 30 ? 'met' : 'missed',
          },
        ],
        notes: [
          'A step of ours: the completing attempt’s transaction (attempt row, job row, the dependent’s `pending_deps`), a dispatcher claim (`UPDATE … FOR UPDATE SKIP LOCKED`), a BullMQ `addBulk`, the worker’s pick-up and the next attempt’s start transaction.',
        ],
      };
    } finally {
      await b.stop();
    }
  },
};

export const throughput: Scenario = {
  name: 'throughput',
  ours: 'one fan-out / fan-in DAG of `noop` jobs (a root, N−2 parallel jobs, a sink that depends on all of them), submitted over HTTP and run by the in-process roles (noop concurrency 8)',
  baseline: 'N no-op jobs added in bulk (`addBulk`, 1,000 at a time) and processed on plain BullMQ (concurrency 8)',
  anchor: 'target ≥ 0.5× the raw jobs/s',
  async run(env) {
    const n = pick(env.opts.size, { tiny: 50, quick: 2_000, full: 10_000 });
    const b = await env.startApp(['api', 'scheduler', 'worker'], { NOOP_CONCURRENCY: String(NOOP_CONCURRENCY) });
    try {
      const t = await b.tenant();
      const middle = Array.from({ length: n - 2 }, (_, i) => `m${i}`);
      const jobs = [noop('root'), ...middle.map((id) => noop(id, ['root'])), noop('sink', middle)];
      const t0 = nowMs();
      const d = await b.gql(SUBMIT_DAG, { input: { name: 'fan', jobs } }, t.key);
      const submitMs = nowMs() - t0;
      await waitForDag(env.pg, d.submitDag.id, 600_000);
      const totalMs = nowMs() - t0;
      const { rows } = await env.pg.query<{ ms: number }>(
        `SELECT extract(epoch FROM max(a.finished_at) - min(a.started_at)) * 1000 AS ms
           FROM jobs j JOIN job_attempts a ON a.job_id = j.id WHERE j.dag_id = $1`,
        [d.submitDag.id],
      );
      const runMs = Number(rows[0]?.ms ?? Number.NaN);
      const ours = (n * 1000) / totalMs;
      const raw = await rawBulk(env, n);
      return {
        rows: [
          {
            metric: `jobs/s (${fmt(n, 0)} jobs, submit to DAG completed)`,
            ours: fmt(ours, 0),
            baseline: fmt(raw, 0),
            ratio: ratioText(ours, raw),
            target: '≥ 0.5×',
            verdict: ours / raw >= 0.5 ? 'met' : 'missed',
          },
          {
            metric: 'jobs/s, first attempt start to last attempt finish',
            ours: fmt((n * 1000) / runMs, 0),
            baseline: '',
            ratio: '',
            target: '',
            verdict: 'info',
          },
        ],
        notes: [
          `submitDag of ${fmt(n, 0)} jobs took ${fmt(submitMs, 0)} ms over HTTP (validation, ${fmt(n, 0)} job rows, ${fmt(2 * (n - 2), 0)} dependency rows).`,
          'The fan-in’s `pending_deps` counter is one row that every middle job’s completion decrements (`UPDATE jobs SET pending_deps = pending_deps - 1`), so those completions queue on its row lock; the figures above include that.',
        ],
      };
    } finally {
      await b.stop();
    }
  },
};
