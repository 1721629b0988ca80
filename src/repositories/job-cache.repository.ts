import { rows as sqlRows, type SqlRunner } from '../db/sql';
import type { AttemptRef } from './jobs.repository';
import { leaseHeld } from './job-leases.repository';

/** What a job's cache key is computed from that lives in this DAG: its upstream nodes. */
export interface CacheInputs {
  upstreamVersions: string[];
  upstreamOutputs: Array<{ taskId: string; output: unknown }>;
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

/** A materialization of the source attempt, with its upstream refs (what a hit records again). */
export interface SourceMaterialization {
  assetKey: string;
  version: string;
  partitionKey: string | null;
  kind: string | null;
  sizeBytes: string | null;
  checksum: string | null;
  uri: string | null;
  metadata: unknown;
  codeFingerprint: string | null;
  promptFingerprint: string | null;
  upstream: Array<{ assetKey: string; version: string; partitionKey: string | null }>;
}

/** The SQL of memoised execution: key inputs, the look-up, the in-flight check, the copies, invalidation. */
export class JobCacheRepository {
  /**
   * One statement: each upstream node's output and the `assetKey@version` of the
   * materializations it recorded in this DAG in its latest try that recorded any.
   */
  async inputs(m: SqlRunner, tenantId: string, jobId: string): Promise<CacheInputs> {
    const rows: Array<{ task_id: string; output: unknown; versions: string[] | null }> = await sqlRows(
      m,
      `SELECT p.task_id, p.output,
         (SELECT array_agg(DISTINCT mt.asset_key || '@' || mt.version) FROM materializations mt
           WHERE mt.tenant_id = p.tenant_id AND mt.dag_id = p.dag_id AND mt.node_task_id = p.task_id
             AND mt.try_number IS NOT DISTINCT FROM (
               SELECT max(x.try_number) FROM materializations x
                WHERE x.tenant_id = p.tenant_id AND x.dag_id = p.dag_id AND x.node_task_id = p.task_id)) AS versions
         FROM job_dependencies jd JOIN jobs p ON p.id = jd.depends_on
        WHERE jd.job_id = $2 AND p.tenant_id = $1`,
      [tenantId, jobId],
    );
    return {
      upstreamVersions: rows.flatMap((r) => r.versions ?? []),
      upstreamOutputs: rows.map((r) => ({ taskId: r.task_id, output: r.output })),
    };
  }

  /** Serialises the look-ups of one key of one tenant and executor (until the transaction ends). */
  async lockKey(m: SqlRunner, tenantId: string, executor: string, key: string): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 7919))`, [`${tenantId}/${executor}/${key}`]);
  }

  /**
   * The newest committed SUCCEEDED attempt of the tenant and executor with this key, finished
   * within `ttlSeconds`, whose job still holds that try's result and whose materializations
   * all still exist; locked (KEY SHARE) so it cannot be deleted under the hit.
   */
  async findSource(
    m: SqlRunner,
    tenantId: string,
    executor: string,
    key: string,
    ttlSeconds: number,
    jobId: string,
  ): Promise<CacheSource | null> {
    const rows: Array<{
      id: string;
      dag_id: string;
      dag_name: string;
      task_id: string;
      try_number: number;
      output: string | null;
      run_seconds: number;
    }> = await sqlRows(
      m,
      `SELECT a.id, j.dag_id, d.name AS dag_name, j.task_id, a.try_number, j.output::text AS output,
              GREATEST(extract(epoch FROM a.finished_at - a.started_at), 0)::float8 AS run_seconds
         FROM job_attempts a JOIN jobs j ON j.id = a.job_id
         JOIN dags d ON d.tenant_id = j.tenant_id AND d.id = j.dag_id
        WHERE a.cache_tenant_id = $1 AND a.cache_executor = $2 AND a.cache_key = $3 AND a.outcome = 'SUCCEEDED'
          AND a.finished_at >= now() - make_interval(secs => $4::double precision)
          AND j.id <> $5 AND j.tenant_id = $1 AND j.state = 'COMPLETED' AND j.try_number = a.try_number
          AND COALESCE(a.cache_materializations, 0) = (SELECT count(*) FROM materializations mt
                WHERE mt.tenant_id = j.tenant_id AND mt.dag_id = j.dag_id AND mt.node_task_id = j.task_id
                  AND mt.try_number = a.try_number)
        ORDER BY a.finished_at DESC, a.id DESC LIMIT 1
        FOR KEY SHARE OF a, j`,
      [tenantId, executor, key, ttlSeconds, jobId],
    );
    const r = rows[0];
    return r
      ? {
          attemptId: r.id,
          dagId: r.dag_id,
          dagName: r.dag_name,
          taskId: r.task_id,
          tryNumber: r.try_number,
          outputJson: r.output,
          runSeconds: Number(r.run_seconds),
        }
      : null;
  }

  /** Another job of the tenant computing this key now (ACTIVE, its lease live). */
  async inFlight(m: SqlRunner, tenantId: string, executor: string, key: string, jobId: string): Promise<boolean> {
    const rows = await sqlRows(
      m,
      `SELECT 1 FROM jobs WHERE tenant_id = $1 AND executor = $2 AND cache_key = $3 AND state = 'ACTIVE'
          AND id <> $4 AND lease_expires_at > now() LIMIT 1`,
      [tenantId, executor, key, jobId],
    );
    return rows.length > 0;
  }

  /** The running attempt's key (guarded by its lease); false when the attempt is no longer current. */
  async setKey(m: SqlRunner, a: AttemptRef, key: string, codeVersion: string | null): Promise<boolean> {
    const rows = await sqlRows(
      m,
      `UPDATE jobs SET cache_key = $5, cache_code_version = $6, cached = false
        WHERE ${leaseHeld('$1', '$2', '$3', '$4')} RETURNING id`,
      [a.jobId, a.tryNumber, a.dispatch, a.workerId, key, codeVersion],
    );
    return rows.length > 0;
  }

  /** The source attempt's materializations and their upstream refs. */
  async sourceMaterializations(m: SqlRunner, tenantId: string, s: CacheSource): Promise<SourceMaterialization[]> {
    const rows: Array<{
      asset_key: string;
      version: string;
      partition_key: string | null;
      kind: string | null;
      size_bytes: string | null;
      checksum: string | null;
      uri: string | null;
      metadata: unknown;
      code_fingerprint: string | null;
      prompt_fingerprint: string | null;
      upstream: Array<{ assetKey: string; version: string; partitionKey: string | null }> | null;
    }> = await sqlRows(
      m,
      `SELECT mt.asset_key, mt.version, mt.partition_key, mt.kind, mt.size_bytes::text AS size_bytes, mt.checksum, mt.uri,
              mt.metadata, mt.code_fingerprint, mt.prompt_fingerprint,
              (SELECT json_agg(json_build_object('assetKey', l.upstream_asset_key, 'version', l.upstream_version,
                        'partitionKey', l.upstream_partition_key) ORDER BY l.id)
                 FROM materialization_lineage l WHERE l.materialization_id = mt.id AND l.tenant_id = $1) AS upstream
         FROM materializations mt
        WHERE mt.tenant_id = $1 AND mt.dag_id = $2 AND mt.node_task_id = $3 AND mt.try_number = $4
        ORDER BY mt.id`,
      [tenantId, s.dagId, s.taskId, s.tryNumber],
    );
    return rows.map((r) => ({
      assetKey: r.asset_key,
      version: r.version,
      partitionKey: r.partition_key,
      kind: r.kind,
      sizeBytes: r.size_bytes,
      checksum: r.checksum,
      uri: r.uri,
      metadata: r.metadata,
      codeFingerprint: r.code_fingerprint,
      promptFingerprint: r.prompt_fingerprint,
      upstream: r.upstream ?? [],
    }));
  }

  /** The source try's task state, copied to this try (replacing what it had). */
  async copyTaskState(
    m: SqlRunner,
    tenantId: string,
    from: { dagId: string; taskId: string; tryNumber: number },
    to: { dagName: string; dagId: string; taskId: string; tryNumber: number },
  ): Promise<void> {
    await m.query(
      `INSERT INTO task_state (tenant_id, dag_name, dag_id, task_id, try_number, key, value_json, metadata)
       SELECT s.tenant_id, $5, $6, $7, $8, s.key, s.value_json, s.metadata FROM task_state s
        WHERE s.tenant_id = $1 AND s.dag_id = $2 AND s.task_id = $3 AND s.try_number = $4
       ON CONFLICT (tenant_id, dag_name, dag_id, task_id, try_number, key)
         DO UPDATE SET value_json = EXCLUDED.value_json, metadata = EXCLUDED.metadata`,
      [tenantId, from.dagId, from.taskId, from.tryNumber, to.dagName, to.dagId, to.taskId, to.tryNumber],
    );
  }

  /** The completed attempt becomes CACHED, naming its source; the job is marked cached. */
  async markCached(m: SqlRunner, a: AttemptRef, s: CacheSource): Promise<void> {
    await m.query(
      `UPDATE job_attempts SET outcome = 'CACHED', cache_key = NULL, cache_tenant_id = NULL, cache_executor = NULL,
          cache_code_version = NULL, cache_materializations = NULL, cached_from_attempt_id = $4,
          cached_from_dag_id = $5, cached_from_task_id = $6, cached_from_try = $7, saved_seconds = $8
        WHERE job_id = $1 AND try_number = $2 AND dispatch = $3 AND outcome = 'SUCCEEDED'`,
      [a.jobId, a.tryNumber, a.dispatch, s.attemptId, s.dagId, s.taskId, s.tryNumber, s.runSeconds],
    );
    await m.query(`UPDATE jobs SET cached = true WHERE id = $1`, [a.jobId]);
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
