import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per tenant, the highest position the trim sweep has deleted: a subscription resuming
 * `after` a cursor below it would miss events, so it is refused (CURSOR_EXPIRED).
 */
export class EventTrimMark1763845000000 implements MigrationInterface {
  name = 'EventTrimMark1763845000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE event_log_trim (
        tenant_id uuid PRIMARY KEY,
        trimmed_through bigint NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE event_log_trim`);
  }
}
