import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each worker's own numbers per executor it hosts (`{ "<executor>": { "concurrency": n,
 * "activeJobs": n } }`), so deployment-status reports an executor's concurrency and load,
 * not the worker's totals.
 */
export class WorkerExecutorSlots1763846140000 implements MigrationInterface {
  name = 'WorkerExecutorSlots1763846140000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workers ADD COLUMN executor_slots jsonb NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workers DROP COLUMN executor_slots`);
  }
}
