import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OpenLineage out: how far the emitter has delivered the event log (the outbox) to each
 * receiver (its endpoint URL, without credentials), and the retry state. A receiver's row
 * is created when an emitter first runs for it, at the log's end then.
 */
export class OpenLineageEmit1763847300000 implements MigrationInterface {
  name = 'OpenLineageEmit1763847300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE ol_emit_state (
        sink text PRIMARY KEY,
        emitted_through bigint NOT NULL,
        failures int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_error text,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ol_emit_state`);
  }
}
