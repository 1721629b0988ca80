import { rows as sqlRows, type SqlRunner } from '../db/sql';
import type { AttemptRef } from './jobs.repository';
import { leaseHeld } from './job-leases.repository';

/** What a job's cache key is computed from that lives in this DAG: its upstream nodes. */
export interface CacheInputs {
  upstreamVersions: string[];
  upstreamOutputs: Array<{ taskId: string; output: unknown }>;
}

/** One job's look-up: the key of its tenant and executor, how old a hit may be, the job itself (never its own source). */
export interface KeyLookup {
  tenantId: string;
  executor: string;
  key: string;
  ttlSeconds: number;
  jobId: string;
}

/** A SUCCEEDED attempt with the key: what a hit copies. */
export interface CacheSource {
  attemptId: string;
  dagId: string;
  dagName: string;
  taskId: string;
  tryNumber: number;
  outputJson: string | null;
  runSeconds: number;
}

/** A hit to write: the attempt that ends CACHED (its tenant and DAG node) and its source. */
export interface CacheHitCopy {
  ref: AttemptRef;
  tenantId: string;
  dagName: string;
  dagId: string;
  taskId: string;
  source: CacheSource;
}

/** A running attempt's key (stored on its job, guarded by its lease). */
export interface KeyAssignment {
  ref: AttemptRef;
  key: string;
  codeVersion: string | null;
}

const lookupArrays = (ls: KeyLookup[]) => [
  ls.map((l) => l.tenantId),
  ls.map((l) => l.executor),
  ls.map((l) => l.key),
  ls.map((l) => l.ttlSeconds),
  ls.map((l) => l.jobId),
];

/**
 * The SQL of memoised execution: key inputs, the look-ups, the in-flight check, the copies,
 * invalidation. Each takes a batch (a group commit's look-ups) and is one statement.
 */
export class JobCacheRepository {
  /**
   * Per job (of its tenant): each upstream node's output and the `assetKey@version` of the
   * materializations it recorded in this DAG in its latest try that recorded any.
   */
  async inputs(m: SqlRunner, jobs: Array<{ tenantId: string; jobId: string }>): Promise<Map<string, CacheInputs>> {
    const rows: Array<{ job_id: string; task_id: string; output: unknown; versions: string[] | null }> = await sqlRows(
      m,
      // LATERAL, kept apart by OFFSET 0: each job's parents by their keys (a plain join let
      // the planner hash every job of the tenant once per batch, a cost that grew with the table).
      `SELECT r.job_id::text AS job_id, p.task_id, p.output,
         (SELECT array_agg(DISTINCT mt.asset_key || '@' || mt.version) FROM materializations mt
           WHERE mt.tenant_id = p.tenant_id AND mt.dag_id = p.dag_id AND mt.node_task_id = p.task_id
             AND mt.try_number IS NOT DISTINCT FROM (
               SELECT max(x.try_number) FROM materializations x
                WHERE x.tenant_id = p.tenant_id AND x.dag_id = p.dag_id AND x.node_task_id = p.task_id)) AS versions
         FROM unnest($1::uuid[], $2::uuid[]) AS r(job_id, tenant_id)
         CROSS JOIN LATERAL (SELECT p.* FROM job_dependencies jd JOIN jobs p ON p.id = jd.depends_on
                              WHERE jd.job_id = r.job_id AND p.tenant_id = r.tenant_id OFFSET 0) p`,
      [jobs.map((j) => j.jobId), jobs.map((j) => j.tenantId)],
    );
    const out = new Map<string, CacheInputs>(jobs.map((j) => [j.jobId, { upstreamVersions: [], upstreamOutputs: [] }]));
    for (const r of rows) {
      const i = out.get(r.job_id)!;
      i.upstreamVersions.push(...(r.versions ?? []));
      i.upstreamOutputs.push({ taskId: r.task_id, output: r.output });
    }
    return out;
  }

  /** Serialises the look-ups of these keys (`tenant/executor/key`, in the given order) until the transaction ends. */
  async lockKeys(m: SqlRunner, names: string[]): Promise<void> {
    await m.query(
      `SELECT count(pg_advisory_xact_lock(hashtextextended(s.k, 7919)))
         FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS u(k, o) ORDER BY o) s`,
      [names],
    );
  }

  /**
   * Per look-up (by index): the newest committed SUCCEEDED attempt of the tenant and
   * executor with the key, finished within its TTL, of another job that still holds that
   * try's result and whose materializations all still exist; locked (KEY SHARE) so it
   * cannot be deleted under the hit.
   */
  async findSources(m: SqlRunner, ls: KeyLookup[]): Promise<Array<CacheSource | null>> {
    const rows: Array<{
      ord: string;
      id: string;
      dag_id: string;
      dag_name: string;
      task_id: string;
      try_number: number;
      output: string | null;
      run_seconds: number;
    }> = await sqlRows(
      m,
      `SELECT i.ord, s.* FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::uuid[])
              WITH ORDINALITY AS i(tenant_id, executor, key, ttl, job_id, ord)
        CROSS JOIN LATERAL (
          SELECT a.id, j.dag_id, d.name AS dag_name, j.task_id, a.try_number, j.output::text AS output,
                 GREATEST(extract(epoch FROM a.finished_at - a.started_at), 0)::float8 AS run_seconds
            FROM job_attempts a JOIN jobs j ON j.id = a.job_id
            JOIN dags d ON d.tenant_id = j.tenant_id AND d.id = j.dag_id
           WHERE a.cache_tenant_id = i.tenant_id AND a.cache_executor = i.executor AND a.cache_key = i.key
             AND a.outcome = 'SUCCEEDED' AND a.finished_at >= now() - make_interval(secs => i.ttl)
             AND j.id <> i.job_id AND j.tenant_id = i.tenant_id AND j.state = 'COMPLETED' AND j.try_number = a.try_number
             AND COALESCE(a.cache_materializations, 0) = (SELECT count(*) FROM materializations mt
                   WHERE mt.tenant_id = j.tenant_id AND mt.dag_id = j.dag_id AND mt.node_task_id = j.task_id
                     AND mt.try_number = a.try_number)
           ORDER BY a.finished_at DESC, a.id DESC LIMIT 1
           FOR KEY SHARE OF a, j) s`,
      lookupArrays(ls),
    );
    const out: Array<CacheSource | null> = ls.map(() => null);
    for (const r of rows)
      out[Number(r.ord) - 1] = {
        attemptId: r.id,
        dagId: r.dag_id,
        dagName: r.dag_name,
        taskId: r.task_id,
        tryNumber: r.try_number,
        outputJson: r.output,
        runSeconds: Number(r.run_seconds),
      };
    return out;
  }

  /** Per look-up (by index): another job of the tenant computes this key now (ACTIVE, its lease live). */
  async inFlight(m: SqlRunner, ls: KeyLookup[]): Promise<boolean[]> {
    const rows: Array<{ ord: string }> = await sqlRows(
      m,
      `SELECT i.ord FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::uuid[])
              WITH ORDINALITY AS i(tenant_id, executor, key, ttl, job_id, ord)
        WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = i.tenant_id AND j.executor = i.executor
                AND j.cache_key = i.key AND j.state = 'ACTIVE' AND j.id <> i.job_id AND j.lease_expires_at > now())`,
      lookupArrays(ls),
    );
    const out = ls.map(() => false);
    for (const r of rows) out[Number(r.ord) - 1] = true;
    return out;
  }

  /** The running attempts' keys (each guarded by its lease): the ids of the jobs whose attempt is still current. */
  async setKeys(m: SqlRunner, as: KeyAssignment[]): Promise<Set<string>> {
    const rows: Array<{ id: string }> = await sqlRows(
      m,
      `UPDATE jobs j SET cache_key = r.key, cache_code_version = r.code_version, cached = false
         FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[])
              AS r(id, try_number, dispatch, worker_id, key, code_version)
        WHERE ${leaseHeld('r.id', 'r.try_number', 'r.dispatch', 'r.worker_id', { alias: 'j' })}
        RETURNING j.id::text AS id`,
      [
        as.map((a) => a.ref.jobId),
        as.map((a) => a.ref.tryNumber),
        as.map((a) => a.ref.dispatch),
        as.map((a) => a.ref.workerId),
        as.map((a) => a.key),
        as.map((a) => a.codeVersion),
      ],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Each source try's task state, copied to its hit's try (replacing what it had). */
  async copyTaskState(m: SqlRunner, hits: CacheHitCopy[]): Promise<void> {
    await m.query(
      `INSERT INTO task_state (tenant_id, dag_name, dag_id, task_id, try_number, key, value_json, metadata)
       SELECT s.tenant_id, c.dag_name, c.dag_id, c.task_id, c.try_number, s.key, s.value_json, s.metadata
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::int[])
              AS c(tenant_id, src_dag, src_task, src_try, dag_name, dag_id, task_id, try_number)
         JOIN task_state s ON s.tenant_id = c.tenant_id AND s.dag_id = c.src_dag AND s.task_id = c.src_task
          AND s.try_number = c.src_try
       ON CONFLICT (tenant_id, dag_name, dag_id, task_id, try_number, key)
         DO UPDATE SET value_json = EXCLUDED.value_json, metadata = EXCLUDED.metadata`,
      [
        hits.map((h) => h.tenantId),
        hits.map((h) => h.source.dagId),
        hits.map((h) => h.source.taskId),
        hits.map((h) => h.source.tryNumber),
        hits.map((h) => h.dagName),
        hits.map((h) => h.dagId),
        hits.map((h) => h.taskId),
        hits.map((h) => h.ref.tryNumber),
      ],
    );
  }

  /**
   * The completed attempts become CACHED, each naming its source; their jobs are marked
   * cached; the fleet-wide counters count them (one row, once per batch).
   */
  async markCached(m: SqlRunner, hits: CacheHitCopy[]): Promise<void> {
    await m.query(
      `WITH c AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::int[],
                         $8::float8[]) AS c(job_id, try_number, dispatch, src_attempt, src_dag, src_task, src_try, saved)),
            a AS (UPDATE job_attempts a SET outcome = 'CACHED', cache_key = NULL, cache_tenant_id = NULL,
                    cache_executor = NULL, cache_code_version = NULL, cache_materializations = NULL,
                    cached_from_attempt_id = c.src_attempt, cached_from_dag_id = c.src_dag, cached_from_task_id = c.src_task,
                    cached_from_try = c.src_try, saved_seconds = c.saved
                    FROM c WHERE a.job_id = c.job_id AND a.try_number = c.try_number AND a.dispatch = c.dispatch
                     AND a.outcome = 'SUCCEEDED' RETURNING a.job_id, a.saved_seconds),
            n AS (UPDATE cache_counters SET hits = hits + (SELECT count(*) FROM a),
                    saved_seconds = saved_seconds + (SELECT COALESCE(sum(saved_seconds), 0) FROM a) WHERE id = 1)
       UPDATE jobs SET cached = true WHERE id IN (SELECT job_id FROM a)`,
      [
        hits.map((h) => h.ref.jobId),
        hits.map((h) => h.ref.tryNumber),
        hits.map((h) => h.ref.dispatch),
        hits.map((h) => h.source.attemptId),
        hits.map((h) => h.source.dagId),
        hits.map((h) => h.source.taskId),
        hits.map((h) => h.source.tryNumber),
        hits.map((h) => h.source.runSeconds),
      ],
    );
  }

  /** The fleet-wide counters: every CACHED attempt committed, and the executor seconds they saved. */
  async totals(m: SqlRunner): Promise<{ hits: number; savedSeconds: number }> {
    const [r] = await sqlRows<{ hits: string; saved_seconds: number }>(
      m,
      `SELECT hits::text AS hits, saved_seconds FROM cache_counters WHERE id = 1`,
    );
    return { hits: Number(r?.hits ?? 0), savedSeconds: Number(r?.saved_seconds ?? 0) };
  }

  /** Forget the tenant's keys of an executor (of one code version, or all): how many. */
  async invalidate(m: SqlRunner, tenantId: string, executor: string, codeVersion: string | null): Promise<number> {
    const rows = await sqlRows(
      m,
      `UPDATE job_attempts SET cache_key = NULL, cache_tenant_id = NULL, cache_executor = NULL, cache_code_version = NULL,
          cache_materializations = NULL
        WHERE cache_tenant_id = $1 AND cache_executor = $2 AND cache_key IS NOT NULL
          AND ($3::text IS NULL OR cache_code_version = $3) RETURNING id`,
      [tenantId, executor, codeVersion],
    );
    return rows.length;
  }
}
