import { rows, type SqlRunner } from '../db/sql';
import type { EventType, LoggedEvent, NewEvent } from '../core/events';

/**
 * Every statement on the event log (`event_log`, its trim marks and the relay's
 * watermark): the outbox append, the relay's stamping and republishing, replay pages,
 * cursors and the retention trim.
 */

/** The channel the relay LISTENs on; NOTIFY is delivered only when the transaction commits. */
export const EVENTS_CHANNEL = 'marie_events';

export interface EventRow {
  position: string;
  tenant_id: string;
  type: string;
  dag_id: string | null;
  payload: unknown;
  created_at: Date;
}

const EVENT_COLUMNS = 'position, tenant_id, type, dag_id, payload, created_at';

/** Rows are written only by `appendEvents`, so `type` and `payload` agree. */
export const toLoggedEvent = (r: EventRow): LoggedEvent =>
  ({
    position: String(r.position),
    tenantId: r.tenant_id,
    type: r.type,
    dagId: r.dag_id,
    payload: r.payload,
    createdAt: new Date(r.created_at).toISOString(),
  }) as LoggedEvent;

/**
 * Append events inside the caller's transaction (the outbox): one statement whatever
 * their number, and a NOTIFY that wakes the relay once the transaction commits.
 */
export async function insertEvents(m: SqlRunner, tenantId: string, events: readonly NewEvent[]): Promise<void> {
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
 * `keepUnemittedFor` (an OpenLineage receiver, its sink): what is not delivered to it yet stays.
 */
export async function trimEvents(
  m: SqlRunner,
  retentionSeconds: number,
  limit = 5000,
  keepUnemittedFor: string | null = null,
): Promise<number> {
  const found = await rows<{ n: string }>(
    m,
    `WITH d AS (
       DELETE FROM event_log WHERE id IN (
         SELECT id FROM event_log e
         WHERE created_at < now() - make_interval(secs => $1::double precision) AND position IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM ol_emit_state s WHERE s.sink = $3 AND e.position > s.emitted_through)
         LIMIT $2)
       RETURNING tenant_id, position),
     u AS (
       INSERT INTO event_log_trim (tenant_id, trimmed_through)
       SELECT tenant_id, max(position) FROM d GROUP BY tenant_id
       ON CONFLICT (tenant_id) DO UPDATE
         SET trimmed_through = GREATEST(event_log_trim.trimmed_through, EXCLUDED.trimmed_through))
     SELECT count(*)::text AS n FROM d`,
    [retentionSeconds, limit, keepUnemittedFor],
  );
  return Number(found[0]?.n ?? 0);
}

/**
 * The tenant's event cursor now: its last stamped position (or its trim mark, when the
 * trim took everything), 0 for an empty log. An event not stamped yet gets a higher
 * position later, so subscribing `after` this misses nothing that was not visible here.
 */
export async function lastPosition(m: SqlRunner, tenantId: string): Promise<string> {
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

/** The tenant's trim mark (null: nothing trimmed yet). */
export async function trimmedThrough(m: SqlRunner, tenantId: string): Promise<string | null> {
  const [state] = await rows<{ trimmed_through: string }>(
    m,
    `SELECT trimmed_through FROM event_log_trim WHERE tenant_id = $1`,
    [tenantId],
  );
  return state ? String(state.trimmed_through) : null;
}

/** One replay page: the tenant's events of `type` (and DAG) past `after`, in order. */
export async function eventsAfter(
  m: SqlRunner,
  tenantId: string,
  after: bigint,
  type: EventType,
  dagId: string | null,
  limit: number,
): Promise<LoggedEvent[]> {
  const found = await rows<EventRow>(
    m,
    `SELECT ${EVENT_COLUMNS} FROM event_log
       WHERE tenant_id = $1 AND position > $2 AND type = $3 AND ($4::text IS NULL OR dag_id = $4)
       ORDER BY position LIMIT ${limit}`,
    [tenantId, after.toString(), type, dagId],
  );
  return found.map(toLoggedEvent);
}

/**
 * The relay's statements. They run on the one connection that holds the relay lock
 * (`run`), never on the pool, so a relay that lost its lock cannot write beside the next.
 */
export type RelayRunner = (sql: string, params?: unknown[]) => Promise<EventRow[]>;

export const RELAY_LOCK = 0x6d617269; // 'mari'

/** Stamp up to `limit` committed, unstamped events with positions in the order they became visible. */
export async function stampEvents(run: RelayRunner, limit: number): Promise<LoggedEvent[]> {
  const found = await run(
    `WITH c AS (SELECT id FROM event_log WHERE position IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),
          s AS (SELECT id, nextval('event_position_seq') AS pos FROM (SELECT id FROM c ORDER BY id) o)
     UPDATE event_log e SET position = s.pos FROM s WHERE e.id = s.id
     RETURNING e.position, e.tenant_id, e.type, e.dag_id, e.payload, e.created_at`,
    [limit],
  );
  return found.map(toLoggedEvent);
}

/** Raise the relay's watermark: everything up to `position` is published. */
export async function markPublished(run: RelayRunner, position: string): Promise<void> {
  await run(`UPDATE relay_state SET published_through = GREATEST(published_through, $1) WHERE id = 1`, [position]);
}

/** Stamped events past the watermark (published, maybe not), in order. */
export async function eventsPastWatermark(run: RelayRunner, limit: number): Promise<LoggedEvent[]> {
  const found = await run(
    `SELECT e.position, e.tenant_id, e.type, e.dag_id, e.payload, e.created_at FROM event_log e, relay_state r
       WHERE r.id = 1 AND e.position > r.published_through ORDER BY e.position LIMIT ${limit}`,
  );
  return found.map(toLoggedEvent);
}
