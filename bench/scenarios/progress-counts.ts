import type { PoolClient } from 'pg';
import { DELTA_COLUMNS, DELTA_JOIN } from '../../src/repositories/dag-progress.repository';
import { fmt, interleaved, median, p99, sequential } from '../lib/stats';
import { SUBMIT_DAG } from '../lib/env';
import { pick, ratioText, type ResultRow, type Scenario } from '../lib/scenario';

/**
 * Issue 18 asks for both ways of keeping a DAG's progress without writing its row per
 * transition to be measured: the per-DAG counter-delta table the engine uses (each
 * group-committed batch inserts one delta row per DAG; reads add the unfolded deltas), and
 * counts over an index on the jobs themselves (nothing written beside the job rows; reads
 * count the DAG's jobs by state). The same DAG, the same moment, one connection, the two
 * alternating in blocks so that both see the same moments of the machine.
 */

const READ_DELTAS = `SELECT d.n_total, d.n_pending, d.n_active, d.n_completed, d.n_failed, d.n_skipped, ${DELTA_COLUMNS}
  FROM dags d ${DELTA_JOIN} WHERE d.tenant_id = $1 AND d.id = $2`;
const READ_COUNTS = `SELECT state, count(*)::int AS n FROM jobs WHERE tenant_id = $1 AND dag_id = $2 GROUP BY state`;
const OPEN_DELTAS = `SELECT (d.n_pending + d.n_active + COALESCE(x.dp_pending, 0) + COALESCE(x.dp_active, 0))::int AS open
  FROM dags d ${DELTA_JOIN} WHERE d.tenant_id = $1 AND d.id = $2`;
const OPEN_COUNTS = `SELECT count(*)::int AS open FROM jobs
  WHERE tenant_id = $1 AND dag_id = $2 AND state IN ('CREATED', 'RETRY', 'ACTIVE')`;
const INSERT_DELTA = `INSERT INTO dag_progress_deltas (tenant_id, dag_id, d_pending, d_active, d_completed)
  VALUES ($1, $2, 0, -62, 62)`;
/** A batch's state changes on `jobs` (62 transitions: the throughput run's mean batch), flipped back and forth. */
const FLIP = `UPDATE jobs SET state = CASE WHEN state = 'ACTIVE' THEN 'COMPLETED' ELSE 'ACTIVE' END
  WHERE id = ANY($1::uuid[])`;
const INDEX = `CREATE INDEX bench_jobs_dag_state ON jobs (tenant_id, dag_id, state)`;

const us = (ms: number) => fmt(ms * 1000, 0);
const pair = (v: number[]) => `${us(median(v))} / ${us(p99(v))}`;

function row(metric: string, deltas: number[], counts: number[]): ResultRow {
  return {
    metric,
    ours: pair(deltas),
    baseline: pair(counts),
    ratio: ratioText(median(deltas), median(counts)),
    target: 'measured (issue 18)',
    verdict: 'info',
  };
}

/** Inside a transaction rolled back at the end: the statement's cost, nothing left behind. */
async function rolledBack(c: PoolClient, sql: string, args: unknown[]): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query(sql, args);
  } finally {
    await c.query('ROLLBACK');
  }
}

export const progressCounts: Scenario = {
  name: 'progress-counts',
  ours: 'the engine’s per-DAG counter deltas: a DAG’s progress is its row plus the sum of its unfolded `dag_progress_deltas` rows (one inserted per DAG by each group-committed batch, folded by a settle or the scheduler’s compaction)',
  baseline:
    'counts over an index: the same progress counted from the DAG’s jobs by state over an index on `jobs (tenant_id, dag_id, state)` (nothing written beside the job rows, but one more index entry per state change)',
  anchor:
    'issue 18: “a per-DAG counter table that batches add to without contention, or counts over an index: measure both”',
  async run(env) {
    const n = pick(env.opts.size, { tiny: 50, quick: 2_000, full: 10_000 });
    const reps = pick(env.opts.size, { tiny: 50, quick: 300, full: 1_000 });
    const b = await env.startApp(['api']);
    const c = await env.pg.connect();
    try {
      const t = await b.tenant();
      const jobs = [
        { id: 'root', name: 'noop', executor: 'noop', dependencies: [] as string[] },
        ...Array.from({ length: n - 2 }, (_, i) => ({
          id: `j${i}`,
          name: 'noop',
          executor: 'noop',
          dependencies: ['root'],
        })),
      ];
      jobs.push({ id: 'sink', name: 'noop', executor: 'noop', dependencies: jobs.slice(1).map((j) => j.id) });
      const d = await b.gql(SUBMIT_DAG, { input: { name: 'progress', jobs } }, t.key);
      const key = [t.tenantId, d.submitDag.id as string];
      // Mid-run, as the throughput run leaves it: half the jobs completed, 128 running.
      const ids = (
        await c.query<{ id: string }>(`SELECT id FROM jobs WHERE tenant_id = $1 AND dag_id = $2 ORDER BY id`, key)
      ).rows.map((r) => r.id);
      const half = ids.slice(0, Math.floor(n / 2));
      const running = ids.slice(half.length, half.length + Math.min(128, n - half.length));
      await c.query(`UPDATE jobs SET state = 'COMPLETED' WHERE id = ANY($1::uuid[])`, [half]);
      await c.query(`UPDATE jobs SET state = 'ACTIVE' WHERE id = ANY($1::uuid[])`, [running]);
      const flipped = running.slice(0, Math.min(62, running.length));
      const rows: ResultRow[] = [];
      const notes: string[] = [];

      // Reads: progress (dag(id), the dashboard) and the settle's open count, with 0, 62 and
      // 300 unfolded delta rows (none right after a compaction; ~62 a second at this
      // throughput's batch rate; 300: a compaction sweep late).
      await c.query(INDEX);
      await c.query('ANALYZE jobs');
      let deltas = 0;
      for (const k of [0, 62, 300]) {
        if (k > deltas) {
          await c.query(
            `INSERT INTO dag_progress_deltas (tenant_id, dag_id, d_pending, d_active, d_completed)
             SELECT $1, $2, 0, 0, 0 FROM generate_series(1, $3::int)`,
            [...key, k - deltas],
          );
          deltas = k;
        }
        await c.query('ANALYZE dag_progress_deltas');
        const [rd, rc] = await interleaved(
          reps,
          () => c.query(READ_DELTAS, key),
          () => c.query(READ_COUNTS, key),
        );
        rows.push(row(`progress read, p50 / p99 µs (${n.toLocaleString('en-US')} jobs, ${k} unfolded deltas)`, rd, rc));
        const [od, oc] = await interleaved(
          reps,
          () => c.query(OPEN_DELTAS, key),
          () => c.query(OPEN_COUNTS, key),
        );
        rows.push(row(`open-jobs check (the settle), p50 / p99 µs (${k} unfolded deltas)`, od, oc));
      }

      // Writes: what each batch pays. Deltas: one insert per DAG. Counts: one more index
      // entry for each of the batch's state changes. Each statement in a transaction of its
      // own, rolled back; the index dropped and created in turn so both see the same moments.
      const empty: number[] = [];
      const ins: number[] = [];
      const withIndex: number[] = [];
      const withoutIndex: number[] = [];
      const k = Math.max(5, Math.ceil(reps / 20));
      const withIndexRound = async () => withIndex.push(...(await sequential(k, () => rolledBack(c, FLIP, [flipped]))));
      const withoutIndexRound = async () => {
        await c.query('DROP INDEX bench_jobs_dag_state');
        withoutIndex.push(...(await sequential(k, () => rolledBack(c, FLIP, [flipped]))));
        await c.query(INDEX);
      };
      for (let round = 0; round < 10; round += 1) {
        // Rolled-back updates leave dead row versions and index entries: cleared each round.
        await c.query('VACUUM jobs');
        empty.push(...(await sequential(k, () => rolledBack(c, 'SELECT 1', []))));
        ins.push(...(await sequential(k, () => rolledBack(c, INSERT_DELTA, key))));
        // The two index set-ups in turn, each first in every other round.
        if (round % 2 === 0) {
          await withIndexRound();
          await c.query('VACUUM jobs');
          await withoutIndexRound();
        } else {
          await withoutIndexRound();
          await c.query('VACUUM jobs');
          await withIndexRound();
        }
      }
      rows.push({
        metric: `a batch’s added write, p50 µs: the delta insert (its transaction − an empty one) vs the index entries of its ${flipped.length} state changes (their update with the index − without)`,
        ours: `${us(median(ins) - median(empty))} (${pair(ins)}; empty ${pair(empty)})`,
        baseline: `${us(median(withIndex) - median(withoutIndex))} (${pair(withIndex)} with, ${pair(withoutIndex)} without)`,
        ratio: ratioText(median(ins) - median(empty), median(withIndex) - median(withoutIndex)),
        target: 'measured (issue 18)',
        verdict: 'info',
      });
      notes.push(
        `One connection, one statement at a time, the two ways alternating in blocks of 50 (${reps} each). The DAG: a fan-out/fan-in of ${n.toLocaleString('en-US')} jobs submitted through the API, then set mid-run (half COMPLETED, ${running.length} ACTIVE). A write is timed inside a transaction of its own, rolled back; the table vacuumed between rounds, the index dropped and created in turn, each set-up first in every other round. What it means: a read of the counters with deltas costs a fraction of a count over the index, whose cost grows with the DAG (it visits an index entry per job, and the heap where the visibility map is not set: rows that just changed), and the settle after every committing batch is such a read; the delta insert is one small row per DAG and batch, where counting over an index pays an index entry per state change instead (on top of the entries a state change already makes: one in every full index on \`jobs\` and in each partial one it enters).`,
      );
      return { rows, notes };
    } finally {
      await c.query('DROP INDEX IF EXISTS bench_jobs_dag_state').catch(() => undefined);
      c.release();
      await b.stop();
    }
  },
};
