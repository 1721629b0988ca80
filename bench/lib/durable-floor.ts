import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { backendsOf, jobCpuMeter, type JobCpu } from './cpu';
import { nowMs } from './stats';

/**
 * The least a durable engine on these tables writes for a fan-out / fan-in DAG of `n` jobs,
 * as raw SQL on the benchmark database's own schema (every index and constraint of `jobs`,
 * `job_dependencies`, `job_attempts`, `event_log`): the DAG's rows and its jobs with their
 * dependencies in one statement each; then, per batch of `batch` jobs, one statement that starts
 * them (state, lease, attempt rows, one event row) and one that completes them (state, attempt
 * rows, the sink's countdown, one counter-delta row, one event row), `inFlight` batches at a
 * time. No Node engine, no BullMQ, no relay, no claim: a floor for PostgreSQL's share of a job,
 * not a design (it checks no lease and decides nothing).
 */
export async function durableFloor(
  pg: Pool,
  n: number,
  batch = 64,
  inFlight = 2,
): Promise<{ rate: number; cpu: JobCpu }> {
  const tenant = (
    await pg.query<{ id: string }>(`INSERT INTO tenants (slug) VALUES ($1) RETURNING id`, [
      `floor-${randomUUID().slice(0, 8)}`,
    ])
  ).rows[0].id;
  const dag = `floor-${randomUUID()}`;
  const ids = Array.from({ length: n }, () => randomUUID());
  const [root, sink] = [ids[0], ids[n - 1]];
  const middle = ids.slice(1, n - 1);
  const meter = jobCpuMeter(backendsOf(pg));
  await meter.begin();
  const t0 = nowMs();
  await pg.query(
    `INSERT INTO dags (tenant_id, id, name, input_hash, n_total, n_pending) VALUES ($1, $2, 'floor', '', $3, $3)`,
    [tenant, dag, n],
  );
  await pg.query(
    `INSERT INTO jobs (id, tenant_id, dag_id, task_id, name, executor, job_level, pending_deps)
     SELECT id, $1, $2, 't' || ord, 'noop', 'noop', CASE WHEN ord = 1 THEN 0 WHEN ord = $4 THEN 2 ELSE 1 END,
            CASE WHEN ord = 1 THEN 0 WHEN ord = $4 THEN $4 - 2 ELSE 1 END
       FROM unnest($3::uuid[]) WITH ORDINALITY AS u(id, ord)`,
    [tenant, dag, ids, n],
  );
  await pg.query(
    `INSERT INTO job_dependencies (job_id, depends_on)
     SELECT m, $1::uuid FROM unnest($2::uuid[]) m UNION ALL SELECT $3::uuid, m FROM unnest($2::uuid[]) m`,
    [root, middle, sink],
  );
  const event = (state: string) =>
    `INSERT INTO event_log (tenant_id, type, dag_id, payload, n_events)
     SELECT $2, 'JOB', $3, jsonb_agg(jsonb_build_object('jobId', id, 'state', '${state}')), count(*) FROM u HAVING count(*) > 0`;
  const start = (b: string[]) =>
    pg.query(
      `WITH u AS (UPDATE jobs SET state = 'ACTIVE', lease_owner = 'w', lease_expires_at = now() + interval '30 s',
                    attempt_started_at = now(), started_at = now(), dispatch = dispatch + 1
                  WHERE id = ANY($1::uuid[]) AND state = 'CREATED' RETURNING id, try_number, dispatch),
            a AS (INSERT INTO job_attempts (job_id, try_number, dispatch, outcome, worker_id)
                  SELECT id, try_number, dispatch, 'RUNNING', 'w' FROM u)
       ${event('ACTIVE')}`,
      [b, tenant, dag],
    );
  const complete = (b: string[], countDown: boolean) =>
    pg.query(
      `WITH u AS (UPDATE jobs SET state = 'COMPLETED', completed_at = now(), lease_owner = NULL, lease_expires_at = NULL
                  WHERE id = ANY($1::uuid[]) AND state = 'ACTIVE' RETURNING id),
            a AS (UPDATE job_attempts SET outcome = 'SUCCEEDED', finished_at = now()
                  WHERE job_id = ANY($1::uuid[]) AND outcome = 'RUNNING'),
            s AS (UPDATE jobs SET pending_deps = pending_deps - (SELECT count(*) FROM u) WHERE $4 AND id = $5::uuid),
            d AS (INSERT INTO dag_progress_deltas (tenant_id, dag_id, d_active, d_completed)
                  SELECT $2, $3, -count(*), count(*) FROM u)
       ${event('COMPLETED')}`,
      [b, tenant, dag, countDown, sink],
    );
  await start([root]);
  await complete([root], false);
  let next = 0;
  const lane = async () => {
    while (next < middle.length) {
      const b = middle.slice(next, (next += batch));
      await start(b);
      await complete(b, true);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  await start([sink]);
  await complete([sink], false);
  const ms = nowMs() - t0;
  const cpu = await meter.end(n);
  const open = await pg.query(`SELECT 1 FROM jobs WHERE dag_id = $1 AND state <> 'COMPLETED' LIMIT 1`, [dag]);
  if (open.rowCount) throw new Error('durable floor: a job was left open');
  return { rate: (n * 1000) / ms, cpu };
}
