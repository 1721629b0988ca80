import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fair share: a job's concurrency key and limit; indexes for the fair claim's counts (jobs
 * in flight, recent starts per tenant and executor).
 */
export class FairShare1763847200000 implements MigrationInterface {
  name = 'FairShare1763847200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs ADD COLUMN concurrency_key text, ADD COLUMN concurrency_limit integer`);
    await q.query(`ALTER TABLE jobs ADD CONSTRAINT jobs_concurrency_limit_check
                   CHECK (concurrency_limit IS NULL OR (concurrency_limit >= 1 AND concurrency_key IS NOT NULL))`);
    await q.query(`CREATE INDEX jobs_inflight_idx ON jobs (tenant_id, executor)
                   WHERE state = 'ACTIVE' OR (state IN ('CREATED','RETRY') AND dispatched_at IS NOT NULL)`);
    // The record of recent starts that rate limits count: each job's latest start per (tenant, executor).
    await q.query(`CREATE INDEX jobs_recent_starts_idx ON jobs (tenant_id, executor, attempt_started_at)
                   WHERE attempt_started_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX jobs_recent_starts_idx`);
    await q.query(`DROP INDEX jobs_inflight_idx`);
    await q.query(`ALTER TABLE jobs DROP CONSTRAINT jobs_concurrency_limit_check`);
    await q.query(`ALTER TABLE jobs DROP COLUMN concurrency_limit, DROP COLUMN concurrency_key`);
  }
}
