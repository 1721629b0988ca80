import { rows, type SqlRunner } from '../db/sql';
import type { EntityManager } from 'typeorm';

export type EventType = 'DAG' | 'JOB' | 'ASSET_MATERIALIZED' | 'ASSETS_INCOMPLETE' | 'SLA';

export interface NewEvent {
  type: EventType;
  dagId: string | null;
  payload: Record<string, unknown>;
}

/** The channel the relay LISTENs on; NOTIFY is delivered only when the transaction commits. */
export const EVENTS_CHANNEL = 'marie_events';

/**
 * Append events to the log inside the caller's transaction (the outbox): one statement
 * whatever their number, and a NOTIFY that wakes the relay once the transaction commits.
 */
export async function appendEvents(m: EntityManager, tenantId: string, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await m.query(
    `WITH ins AS (
       INSERT INTO event_log (tenant_id, type, dag_id, payload)
       SELECT $1, t, d, p FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS u(t, d, p)
       RETURNING 1)
     SELECT pg_notify('${EVENTS_CHANNEL}', count(*)::text) FROM ins`,
    [tenantId, events.map((e) => e.type), events.map((e) => e.dagId), events.map((e) => JSON.stringify(e.payload))],
  );
}

/**
 * Delete stamped events older than `retentionSeconds` (at most `limit` per call) and
 * raise each tenant's `event_log_trim.trimmed_through` to the highest position deleted,
 * in one statement: a resume cursor below that mark is refused (CURSOR_EXPIRED). Returns the rows deleted.
 */
export async function trimEventLog(m: SqlRunner, retentionSeconds: number, limit = 5000): Promise<number> {
  const found = await rows<{ n: string }>(
    m,
    `WITH d AS (
       DELETE FROM event_log WHERE id IN (
         SELECT id FROM event_log
         WHERE created_at < now() - make_interval(secs => $1::double precision) AND position IS NOT NULL
         LIMIT $2)
       RETURNING tenant_id, position),
     u AS (
       INSERT INTO event_log_trim (tenant_id, trimmed_through)
       SELECT tenant_id, max(position) FROM d GROUP BY tenant_id
       ON CONFLICT (tenant_id) DO UPDATE
         SET trimmed_through = GREATEST(event_log_trim.trimmed_through, EXCLUDED.trimmed_through))
     SELECT count(*)::text AS n FROM d`,
    [retentionSeconds, limit],
  );
  return Number(found[0]?.n ?? 0);
}

/**
 * The tenant's event cursor now: its last stamped position (or its trim mark, when the
 * trim took everything), 0 for an empty log. An event not stamped yet gets a higher
 * position later, so subscribing `after` this misses nothing that was not visible here.
 */
export async function lastEventPosition(m: SqlRunner, tenantId: string): Promise<string> {
  const [row] = await rows<{ position: string }>(
    m,
    `SELECT GREATEST(
       (SELECT max(position) FROM event_log WHERE tenant_id = $1),
       (SELECT trimmed_through FROM event_log_trim WHERE tenant_id = $1),
       0)::text AS position`,
    [tenantId],
  );
  return row?.position ?? '0';
}
