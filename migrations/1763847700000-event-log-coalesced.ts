import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A row of `event_log` may carry several events (issue 18): a run of one call's events of
 * the same type and DAG is one row, `n_events` long, its `payload` a JSON array of their
 * payloads (a row of one event keeps the payload object, as every row before this). The
 * relay stamps such a row with the last of `n_events` consecutive positions, so event i
 * (from 0) of a row has position `position - n_events + 1 + i`: every event keeps its own
 * cursor, and `position > cursor` still finds every row holding an event past a cursor
 * through the (tenant_id, position) index.
 *
 * `event_log_events` shows the log one event a row (`ord` from 1 within its row), for
 * operators and tests; the services read `event_log` and expand the rows they fetch.
 */
export class EventLogCoalesced1763847700000 implements MigrationInterface {
  name = 'EventLogCoalesced1763847700000';

  async up(q: QueryRunner): Promise<void> {
    // A constant default: no table rewrite, every existing row is one event.
    await q.query(`ALTER TABLE event_log ADD COLUMN n_events int NOT NULL DEFAULT 1 CHECK (n_events >= 1)`);
    await q.query(`CREATE VIEW event_log_events AS
      SELECT e.id, x.ord, e.tenant_id, e.type, e.dag_id, x.payload, e.created_at,
             e.position - e.n_events + x.ord AS position
        FROM event_log e
        CROSS JOIN LATERAL jsonb_array_elements(
          CASE WHEN e.n_events = 1 THEN jsonb_build_array(e.payload) ELSE e.payload END)
          WITH ORDINALITY AS x(payload, ord)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW event_log_events`);
    await q.query(`ALTER TABLE event_log DROP COLUMN n_events`);
  }
}
