import { rows as sqlRows, type SqlRunner } from '../db/sql';
import type { JobState } from '../core/states';

/** A job's row as the API reads it. */
export interface JobRow {
  id: string;
  tenant_id: string;
  dag_id: string;
  task_id: string;
  name: string;
  executor: string;
  priority: number;
  data: unknown;
  state: JobState;
  job_level: number;
  try_number: number;
  retry_limit: number;
  retry_delay: number;
  retry_backoff: boolean;
  start_after: Date | null;
  expire_in_seconds: number | null;
  keep_until: Date | null;
  soft_sla: Date | null;
  hard_sla: Date | null;
  requires_gpu: boolean;
  partition_key: string | null;
  concurrency_key: string | null;
  concurrency_limit: number | null;
  output: unknown;
  error: string | null;
  progress_percent: number | null;
  progress_message: string | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  cache_key: string | null;
}

export const JOB_COLUMNS = `id, tenant_id, dag_id, task_id, name, executor, priority, data, state, job_level, try_number, retry_limit,
  retry_delay, retry_backoff, start_after, expire_in_seconds, keep_until, soft_sla, hard_sla, requires_gpu, partition_key,
  concurrency_key, concurrency_limit, output, error, progress_percent, progress_message, created_at, started_at, completed_at,
  cache_key`;

/** A job of a submitted DAG, validated and normalised. */
export interface NewJob {
  taskId: string;
  name: string;
  executor: string;
  priority: number;
  dataJson: string | null;
  jobLevel: number;
  dependencies: string[];
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  startAfter: Date | null;
  expireInSeconds: number | null;
  keepUntil: Date | null;
  softSla: Date | null;
  hardSla: Date | null;
  requiresGpu: boolean;
  partitionKey: string | null;
  concurrencyKey: string | null;
  concurrencyLimit: number | null;
  cache: { enabled: boolean; ttlSeconds: number | null; key: string | null };
}

/** An attempt's row, as the API reads it. */
export interface AttemptRow {
  job_id: string;
  try_number: number;
  outcome: string;
  worker_id: string | null;
  started_at: Date;
  finished_at: Date | null;
  error: string | null;
  cached_from_dag_id: string | null;
  cached_from_task_id: string | null;
  cached_from_try: number | null;
}

/** How many jobs of a DAG are in one state at one (level, executor). */
export interface JobGroupCount {
  dag_id: string;
  job_level: number;
  executor: string;
  state: JobState;
  /** Completed from the cache. */
  cached: boolean;
  n: number;
}

/** One page of one DAG's jobs, ordered by (level, task id), filtered; `after` is the last row's (level, task id). */
export interface JobPageQuery {
  dagId: string;
  level: number | null;
  executor: string | null;
  state: JobState | null;
  after: [number, string] | null;
  /** Rows to read (the page size plus one, to tell whether there is a next page). */
  limit: number;
}

/**
 * Job rows as the API reads them (one statement per batch for the DataLoaders), and the
 * jobs and dependencies of a DAG written at submission.
 */
export class JobRowsRepository {
  /** A submitted DAG's jobs (ids given, in order) and their dependency edges. */
  async insertDagJobs(m: SqlRunner, tenantId: string, dagId: string, ids: string[], J: NewJob[]): Promise<void> {
    const idOf = new Map(J.map((j, i) => [j.taskId, ids[i]]));
    await m.query(
      `INSERT INTO jobs (id, tenant_id, dag_id, task_id, name, executor, priority, data, job_level, pending_deps, retry_limit,
         retry_delay, retry_backoff, start_after, run_after, expire_in_seconds, keep_until, soft_sla, hard_sla, requires_gpu, partition_key,
         concurrency_key, concurrency_limit, cache_enabled, cache_ttl_seconds, cache_given_key)
       SELECT u.id, $1, $2, u.task_id, u.name, u.executor, u.priority, u.data, u.level, u.deps, u.retry_limit, u.retry_delay,
         u.retry_backoff, u.start_after, u.start_after, u.expire, u.keep_until, u.soft_sla, u.hard_sla, u.gpu, u.partition_key,
         u.ckey, u.climit, u.cache_enabled, u.cache_ttl, u.cache_key
       FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[], $8::jsonb[], $9::int[], $10::int[], $11::int[],
         $12::int[], $13::boolean[], $14::timestamptz[], $15::int[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[],
         $19::boolean[], $20::text[], $21::text[], $22::int[], $23::boolean[], $24::int[], $25::text[])
         AS u(id, task_id, name, executor, priority, data, level, deps, retry_limit, retry_delay, retry_backoff, start_after,
              expire, keep_until, soft_sla, hard_sla, gpu, partition_key, ckey, climit, cache_enabled, cache_ttl, cache_key)`,
      [
        tenantId,
        dagId,
        ids,
        J.map((j) => j.taskId),
        J.map((j) => j.name),
        J.map((j) => j.executor),
        J.map((j) => j.priority),
        J.map((j) => j.dataJson),
        J.map((j) => j.jobLevel),
        J.map((j) => j.dependencies.length),
        J.map((j) => j.retryLimit),
        J.map((j) => j.retryDelay),
        J.map((j) => j.retryBackoff),
        J.map((j) => j.startAfter),
        J.map((j) => j.expireInSeconds),
        J.map((j) => j.keepUntil),
        J.map((j) => j.softSla),
        J.map((j) => j.hardSla),
        J.map((j) => j.requiresGpu),
        J.map((j) => j.partitionKey),
        J.map((j) => j.concurrencyKey),
        J.map((j) => j.concurrencyLimit),
        J.map((j) => j.cache.enabled),
        J.map((j) => j.cache.ttlSeconds),
        J.map((j) => j.cache.key),
      ],
    );
    const from: string[] = [];
    const to: string[] = [];
    for (const j of J) {
      for (const d of j.dependencies) {
        from.push(idOf.get(j.taskId)!);
        to.push(idOf.get(d)!);
      }
    }
    if (from.length) {
      await m.query(`INSERT INTO job_dependencies (job_id, depends_on) SELECT * FROM unnest($1::uuid[], $2::uuid[])`, [
        from,
        to,
      ]);
    }
  }

  /** How many rows the planner statistics of jobs and job_dependencies last counted. */
  async plannerCounts(m: SqlRunner): Promise<Array<{ relname: 'jobs' | 'job_dependencies'; reltuples: number }>> {
    return sqlRows(
      m,
      `SELECT relname, reltuples FROM pg_class
        WHERE oid IN (to_regclass('jobs'), to_regclass('job_dependencies'))`,
    );
  }

  /** Refresh the planner statistics of one job table. */
  async analyze(m: SqlRunner, table: 'jobs' | 'job_dependencies'): Promise<void> {
    await m.query(`ANALYZE ${table}`);
  }

  async byTask(m: SqlRunner, tenantId: string, dagId: string, taskId: string): Promise<JobRow | null> {
    const rows: JobRow[] = await sqlRows(
      m,
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND task_id = $3`,
      [tenantId, dagId, taskId],
    );
    return rows[0] ?? null;
  }

  async byId(m: SqlRunner, tenantId: string, jobId: string): Promise<JobRow | null> {
    const rows: JobRow[] = await sqlRows(m, `SELECT ${JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      jobId,
    ]);
    return rows[0] ?? null;
  }

  /** Every job of each DAG, by level then task id. */
  async ofDags(m: SqlRunner, tenantId: string, dagIds: readonly string[]): Promise<JobRow[]> {
    return sqlRows(
      m,
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND dag_id = ANY($2::text[]) ORDER BY job_level, task_id`,
      [tenantId, dagIds],
    );
  }

  /** Job counts per (DAG, level, executor, state) of each DAG: one grouped statement. */
  async groupCounts(m: SqlRunner, tenantId: string, dagIds: readonly string[]): Promise<JobGroupCount[]> {
    return sqlRows(
      m,
      `SELECT dag_id, job_level, executor, state, (cached AND state = 'COMPLETED') AS cached, count(*)::int AS n FROM jobs
        WHERE tenant_id = $1 AND dag_id = ANY($2::text[])
        GROUP BY dag_id, job_level, executor, state, 5`,
      [tenantId, dagIds],
    );
  }

  /**
   * Pages of the jobs of several DAGs (one per query, each with its own filters), in one
   * statement: each query's rows tagged with its index (`ord`) and its filtered total. A
   * query with no rows gives one row with a null id.
   */
  async pages(
    m: SqlRunner,
    tenantId: string,
    qs: readonly JobPageQuery[],
  ): Promise<Array<(JobRow & { ord: number; total: number }) | { ord: number; total: number; id: null }>> {
    const cols = JOB_COLUMNS.split(',')
      .map((c) => `x.${c.trim()}`)
      .join(', ');
    const filter = `j.tenant_id = $1 AND j.dag_id = r.dag_id AND (r.level IS NULL OR j.job_level = r.level)
             AND (r.executor IS NULL OR j.executor = r.executor) AND (r.state IS NULL OR j.state = r.state)`;
    return sqlRows(
      m,
      `SELECT r.ord::int AS ord, t.total, ${cols}
         FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::text[], $8::int[])
              WITH ORDINALITY AS r(dag_id, level, executor, state, after_level, after_task, n, ord)
        CROSS JOIN LATERAL (SELECT count(*)::int AS total FROM jobs j WHERE ${filter}) t
         LEFT JOIN LATERAL (
           SELECT ${JOB_COLUMNS} FROM jobs j
            WHERE ${filter}
              AND (r.after_level IS NULL OR (j.job_level, j.task_id COLLATE "C") > (r.after_level, r.after_task))
            ORDER BY j.job_level, j.task_id COLLATE "C" LIMIT r.n
         ) x ON true
        ORDER BY r.ord, x.job_level, x.task_id COLLATE "C"`,
      [
        tenantId,
        qs.map((q) => q.dagId),
        qs.map((q) => q.level),
        qs.map((q) => q.executor),
        qs.map((q) => q.state),
        qs.map((q) => q.after?.[0] ?? null),
        qs.map((q) => q.after?.[1] ?? null),
        qs.map((q) => q.limit),
      ],
    );
  }

  /**
   * The jobs each of `jobIds` depends on ('dependencies') or that depend on it ('dependents'),
   * as rows tagged with the job they belong to (`of`).
   */
  async related(
    m: SqlRunner,
    tenantId: string,
    jobIds: readonly string[],
    relation: 'dependencies' | 'dependents',
  ): Promise<Array<JobRow & { of: string }>> {
    const [own, other] = relation === 'dependencies' ? ['job_id', 'depends_on'] : ['depends_on', 'job_id'];
    const cols = JOB_COLUMNS.split(',')
      .map((c) => `r.${c.trim()}`)
      .join(', ');
    return sqlRows(
      m,
      `SELECT jd.${own} AS of, ${cols}
       FROM job_dependencies jd JOIN jobs r ON r.id = jd.${other}
       WHERE jd.${own} = ANY($2::uuid[]) AND r.tenant_id = $1 ORDER BY r.task_id`,
      [tenantId, jobIds],
    );
  }

  /** Every attempt of each job, oldest first. */
  async attempts(m: SqlRunner, tenantId: string, jobIds: readonly string[]): Promise<AttemptRow[]> {
    return sqlRows(
      m,
      `SELECT a.job_id, a.try_number, a.outcome, a.worker_id, a.started_at, a.finished_at, a.error,
         a.cached_from_dag_id, a.cached_from_task_id, a.cached_from_try
       FROM job_attempts a JOIN jobs j ON j.id = a.job_id
       WHERE a.job_id = ANY($2::uuid[]) AND j.tenant_id = $1 ORDER BY a.id`,
      [tenantId, jobIds],
    );
  }

  /** The job an attempt token names, with its tenant's slug and its DAG's name (null: gone, or not that tenant's). */
  async tokenAttempt(
    m: SqlRunner,
    tenantId: string,
    jobId: string,
  ): Promise<{ tenantSlug: string; dagId: string; dagName: string; taskId: string } | null> {
    const found: Array<{ slug: string; dag_id: string; name: string; task_id: string }> = await sqlRows(
      m,
      `SELECT t.slug, j.dag_id, d.name, j.task_id
       FROM jobs j JOIN tenants t ON t.id = j.tenant_id JOIN dags d ON d.tenant_id = j.tenant_id AND d.id = j.dag_id
       WHERE j.id = $2 AND j.tenant_id = $1`,
      [tenantId, jobId],
    );
    const r = found[0];
    return r ? { tenantSlug: r.slug, dagId: r.dag_id, dagName: r.name, taskId: r.task_id } : null;
  }

  /** What an attempt token's `attempt` query shows of its job. */
  async attemptJob(
    m: SqlRunner,
    tenantId: string,
    jobId: string,
  ): Promise<{ name: string; state: JobState; partitionKey: string | null } | null> {
    const found: Array<{ name: string; state: JobState; partition_key: string | null }> = await sqlRows(
      m,
      `SELECT name, state, partition_key FROM jobs WHERE id = $2 AND tenant_id = $1`,
      [tenantId, jobId],
    );
    const r = found[0];
    return r ? { name: r.name, state: r.state, partitionKey: r.partition_key } : null;
  }

  /** The latest materialization of each (upstream node, asset, partition) its upstream nodes recorded in its DAG. */
  async upstreamMaterializations(
    m: SqlRunner,
    tenantId: string,
    jobId: string,
  ): Promise<
    Array<{ assetKey: string; version: string; partitionKey: string | null; uri: string | null; nodeTaskId: string }>
  > {
    const found: Array<{
      asset_key: string;
      version: string;
      partition_key: string | null;
      uri: string | null;
      task_id: string;
    }> = await sqlRows(
      m,
      `SELECT DISTINCT ON (p.task_id, mt.asset_key, mt.partition_key)
              mt.asset_key, mt.version, mt.partition_key, mt.uri, p.task_id
       FROM job_dependencies jd
       JOIN jobs p ON p.id = jd.depends_on AND p.tenant_id = $1
       JOIN materializations mt ON mt.tenant_id = p.tenant_id AND mt.dag_id = p.dag_id AND mt.node_task_id = p.task_id
       WHERE jd.job_id = $2
       ORDER BY p.task_id, mt.asset_key, mt.partition_key, mt.created_at DESC, mt.id DESC`,
      [tenantId, jobId],
    );
    return found.map((r) => ({
      assetKey: r.asset_key,
      version: r.version,
      partitionKey: r.partition_key,
      uri: r.uri,
      nodeTaskId: r.task_id,
    }));
  }
}
