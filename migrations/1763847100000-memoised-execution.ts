import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Memoised execution (DESIGN.md "Memoised execution"): each job's cache policy and the key
 * of its latest attempt; the key on SUCCEEDED attempts (with the tenant, executor and code
 * version it is looked up and invalidated by); the CACHED outcome and its source; the
 * DAG's count of cached jobs and the seconds they saved.
 */
export class MemoisedExecution1763847100000 implements MigrationInterface {
  name = 'MemoisedExecution1763847100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs
      ADD COLUMN cache_enabled boolean NOT NULL DEFAULT false,
      ADD COLUMN cache_ttl_seconds int,
      ADD COLUMN cache_given_key text,
      ADD COLUMN cache_key text,
      ADD COLUMN cache_code_version text,
      ADD COLUMN cached boolean NOT NULL DEFAULT false`);
    // The in-flight look-up: another ACTIVE job computing the same key.
    await q.query(
      `CREATE INDEX jobs_cache_inflight_idx ON jobs (tenant_id, executor, cache_key) WHERE state = 'ACTIVE' AND cache_key IS NOT NULL`,
    );
    await q.query(`ALTER TABLE job_attempts DROP CONSTRAINT job_attempts_outcome_check`);
    await q.query(`ALTER TABLE job_attempts ADD CONSTRAINT job_attempts_outcome_check
      CHECK (outcome IN ('RUNNING','SUCCEEDED','FAILED','EXPIRED','CANCELLED','LOST','HANDED_BACK','CACHED'))`);
    await q.query(`ALTER TABLE job_attempts
      ADD COLUMN cache_tenant_id uuid,
      ADD COLUMN cache_executor text,
      ADD COLUMN cache_key text,
      ADD COLUMN cache_code_version text,
      ADD COLUMN cache_materializations int,
      ADD COLUMN cached_from_attempt_id bigint,
      ADD COLUMN cached_from_dag_id text,
      ADD COLUMN cached_from_task_id text,
      ADD COLUMN cached_from_try int,
      ADD COLUMN saved_seconds double precision,
      ADD CONSTRAINT job_attempts_cache_key_succeeded CHECK (cache_key IS NULL OR outcome = 'SUCCEEDED')`);
    await q.query(
      `CREATE INDEX job_attempts_cache_idx ON job_attempts (cache_tenant_id, cache_executor, cache_key, finished_at DESC)
        WHERE cache_key IS NOT NULL`,
    );
    await q.query(`ALTER TABLE dags ADD COLUMN n_cached int NOT NULL DEFAULT 0,
      ADD COLUMN saved_seconds double precision NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE dags DROP COLUMN n_cached, DROP COLUMN saved_seconds`);
    await q.query(`DROP INDEX job_attempts_cache_idx`);
    await q.query(`DELETE FROM job_attempts WHERE outcome = 'CACHED'`);
    await q.query(`ALTER TABLE job_attempts DROP CONSTRAINT job_attempts_cache_key_succeeded,
      DROP COLUMN cache_tenant_id, DROP COLUMN cache_executor, DROP COLUMN cache_key, DROP COLUMN cache_code_version,
      DROP COLUMN cache_materializations, DROP COLUMN cached_from_attempt_id, DROP COLUMN cached_from_dag_id, DROP COLUMN cached_from_task_id,
      DROP COLUMN cached_from_try, DROP COLUMN saved_seconds`);
    await q.query(`ALTER TABLE job_attempts DROP CONSTRAINT job_attempts_outcome_check`);
    await q.query(`ALTER TABLE job_attempts ADD CONSTRAINT job_attempts_outcome_check
      CHECK (outcome IN ('RUNNING','SUCCEEDED','FAILED','EXPIRED','CANCELLED','LOST','HANDED_BACK'))`);
    await q.query(`DROP INDEX jobs_cache_inflight_idx`);
    await q.query(`ALTER TABLE jobs DROP COLUMN cache_enabled, DROP COLUMN cache_ttl_seconds, DROP COLUMN cache_given_key,
      DROP COLUMN cache_key, DROP COLUMN cache_code_version, DROP COLUMN cached`);
  }
}
