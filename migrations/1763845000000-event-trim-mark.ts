import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The highest position the trim sweep has deleted: a subscription resuming `after` a
 * cursor below it would miss events, so it is refused (CURSOR_EXPIRED).
 */
export class EventTrimMark1763845000000 implements MigrationInterface {
  name = 'EventTrimMark1763845000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE relay_state ADD COLUMN trimmed_through bigint NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE relay_state DROP COLUMN trimmed_through`);
  }
}
