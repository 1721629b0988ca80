import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: what PostgreSQL does per group-committed transition (a start: the job row and
 * an attempt row inserted; a completion: the job row and the attempt row updated).
 *
 * - `jobs_stats_idx` (tenant_id, executor, state) goes: every state change is a non-HOT
 *   update that wrote an entry into it, and no statement needs it (the tenant's counts per
 *   executor scan the tenant's rows through the (tenant_id, dag_id, task_id) key; the counts of
 *   ready, in-flight, claimed and recently started jobs have partial indexes of their own).
 * - The attempt row's completion becomes a HOT update: the cache look-up index no longer holds
 *   `finished_at` (a key has few successful attempts; the look-up sorts them), so closing an
 *   attempt changes no indexed column unless it stores a cache key, and the table keeps half of
 *   each page free for the updated versions.
 * - `job_attempts.job_id` loses its foreign key: its check ran a query and took a KEY SHARE
 *   lock on the job row (a WAL record) for every attempt a start batch inserts. Attempt rows are
 *   written only under the job row's lock, by the engine's guarded statements; the purge
 *   deletes a DAG's attempt rows itself (as it does its counter deltas).
 * - `event_log.payload` is compressed with lz4 where the server has it (a group commit's
 *   events of a DAG are one row of ~14 kB: pglz cost a few hundred µs per row to write).
 */
export class TransitionCost1763847800000 implements MigrationInterface {
  name = 'TransitionCost1763847800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX jobs_stats_idx`);
    await q.query(`DROP INDEX job_attempts_cache_idx`);
    await q.query(`CREATE INDEX job_attempts_cache_idx ON job_attempts (cache_tenant_id, cache_executor, cache_key)
                   WHERE cache_key IS NOT NULL`);
    await q.query(`ALTER TABLE job_attempts SET (fillfactor = 50)`);
    await q.query(`ALTER TABLE job_attempts DROP CONSTRAINT job_attempts_job_id_fkey`);
    await q.query(`DO $$ BEGIN
        ALTER TABLE event_log ALTER COLUMN payload SET COMPRESSION lz4;
      EXCEPTION WHEN feature_not_supported THEN NULL;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE event_log ALTER COLUMN payload SET COMPRESSION default`);
    await q.query(`DELETE FROM job_attempts a WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = a.job_id)`);
    await q.query(`ALTER TABLE job_attempts ADD CONSTRAINT job_attempts_job_id_fkey
                   FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE CASCADE`);
    await q.query(`ALTER TABLE job_attempts RESET (fillfactor)`);
    await q.query(`DROP INDEX job_attempts_cache_idx`);
    await q.query(`CREATE INDEX job_attempts_cache_idx ON job_attempts (cache_tenant_id, cache_executor, cache_key, finished_at DESC)
                   WHERE cache_key IS NOT NULL`);
    await q.query(`CREATE INDEX jobs_stats_idx ON jobs (tenant_id, executor, state)`);
  }
}
