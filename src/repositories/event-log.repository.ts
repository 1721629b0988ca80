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
  /** The position of the row's last event (null until stamped). */
  position: string;
  tenant_id: string;
  type: string;
  dag_id: string | null;
  /** One event's payload, or (`n_events` > 1) the array of the row's payloads in order. */
  payload: unknown;
  /** How many events the row holds (1 for every row written before rows were coalesced). */
  n_events?: number;
  created_at: Date;
}

const EVENT_COLUMNS = 'position, tenant_id, type, dag_id, payload, n_events, created_at';

/** The most events one row holds: a bigger run of a call's events is split over rows. */
export const MAX_ROW_EVENTS = 1000;

/**
 * The events of stamped rows (in position order), each with its own position: event i
 * (from 0) of a row of n is at `position - n + 1 + i`. Events at or below `after` are
 * left out (a cursor may point inside a row) and at most `limit` are returned; every row
 * fetched holds at least one event past `after`, so fewer than `limit` events means the
 * rows ran out, as a page of one event a row did. Rows are written only by
 * `appendEvents`, so `type` and payloads agree.
 */
export function expandRows(found: readonly EventRow[], after: bigint | null = null, limit = Infinity): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  for (const r of found) {
    const n = Number(r.n_events ?? 1);
    const payloads = n === 1 ? [r.payload] : (r.payload as unknown[]);
    const first = BigInt(r.position) - BigInt(n) + 1n;
    const createdAt = new Date(r.created_at).toISOString();
    for (let i = 0; i < n; i++) {
      const position = first + BigInt(i);
      if (after !== null && position <= after) continue;
      out.push({
        position: String(position),
        tenantId: r.tenant_id,
        type: r.type,
        dagId: r.dag_id,
        payload: payloads[i],
        createdAt,
      } as LoggedEvent);
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/**
 * A call's events as rows: each run of consecutive events of one type and DAG (a group
 * commit's JOB transitions of a DAG, say) is one row of at most MAX_ROW_EVENTS, so the
 * order of the call's events is the order of its rows and of the payloads within them.
 */
function coalesce(events: readonly NewEvent[]): { type: string; dagId: string | null; payloads: unknown[] }[] {
  const out: { type: string; dagId: string | null; payloads: unknown[] }[] = [];
  let run: (typeof out)[number] | undefined;
  for (const e of events) {
    if (!run || run.type !== e.type || run.dagId !== e.dagId || run.payloads.length >= MAX_ROW_EVENTS) {
      run = { type: e.type, dagId: e.dagId, payloads: [] };
      out.push(run);
    }
    run.payloads.push(e.payload);
  }
  return out;
}

/**
 * Append events inside the caller's transaction (the outbox): one statement whatever
 * their number, one row per run of events of one type and DAG (`coalesce`), and a NOTIFY
 * that wakes the relay once the transaction commits.
 */
export async function insertEvents(m: SqlRunner, tenantId: string, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  const runs = coalesce(events);
  await m.query(
    `WITH ins AS (
       INSERT INTO event_log (tenant_id, type, dag_id, payload, n_events)
       SELECT $1, t, d, p, n FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::int[]) AS u(t, d, p, n)
       RETURNING 1)
     SELECT pg_notify('${EVENTS_CHANNEL}', count(*)::text) FROM ins`,
    [
      tenantId,
      runs.map((r) => r.type),
      runs.map((r) => r.dagId),
      runs.map((r) => JSON.stringify(r.payloads.length === 1 ? r.payloads[0] : r.payloads)),
      runs.map((r) => r.payloads.length),
    ],
  );
}

/**
 * Delete stamped events older than `retentionSeconds` (at most `limit` per call) and
 * raise each tenant's `event_log_trim.trimmed_through` to the highest position deleted,
 * in one statement: a resume cursor below that mark is refused (CURSOR_EXPIRED). A row goes
 * whole, so the mark is the position of its last event. Returns the rows deleted.
 * `keepUnemittedFor` (an OpenLineage receiver, its sink): what is not delivered to it yet stays
 * (a row with any event past its watermark).
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

/**
 * One replay page: the tenant's events of `type` (and DAG) past `after`, in order, at
 * most `limit`. A row holding an event past `after` has its last position past it, so
 * the (tenant_id, position) index finds it; a cursor inside a row starts mid-row.
 */
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
  return expandRows(found, after, limit);
}

/**
 * A tenant's events of every type past `after`, in order, at most `limit`: what a process's
 * live feed of the tenant missed while its Redis subscription was down.
 */
export async function tenantEventsAfter(
  m: SqlRunner,
  tenantId: string,
  after: bigint,
  limit: number,
): Promise<LoggedEvent[]> {
  const found = await rows<EventRow>(
    m,
    `SELECT ${EVENT_COLUMNS} FROM event_log WHERE tenant_id = $1 AND position > $2 ORDER BY position LIMIT ${limit}`,
    [tenantId, after.toString()],
  );
  return expandRows(found, after, limit);
}

/**
 * The relay's statements. They run on the one connection that holds the relay lock
 * (`run`), never on the pool, so a relay that lost its lock cannot write beside the next.
 */
export type RelayRunner = (sql: string, params?: unknown[], name?: string) => Promise<EventRow[]>;

export const RELAY_LOCK = 0x6d617269; // 'mari'

/**
 * Stamp committed, unstamped rows in the order they became visible (by id; at most
 * `limit` rows, and rows beyond the one that reaches `limit` events wait for the next
 * call) and return their events. A row of n events takes n consecutive positions and
 * keeps the last: the statement reserves the batch's whole range with one `nextval` and
 * one `setval`. That is safe because only the holder of the relay lock draws from
 * `event_position_seq`, and a relay's statement ends before its lock can pass on (the
 * lock is its session's). Prepared (named) on the relay's connection: planned once.
 * `publishedThrough` (the last batch's, published since): the watermark moves to it in
 * this statement's transaction, which saves that batch a commit and its WAL flush of its own.
 */
export async function stampEvents(
  run: RelayRunner,
  limit: number,
  publishedThrough: string | null = null,
): Promise<LoggedEvent[]> {
  const found = await run(
    `WITH w AS (UPDATE relay_state SET published_through = GREATEST(published_through, $2::bigint)
                 WHERE id = 1 AND $2::bigint IS NOT NULL),
          c AS (SELECT id, n_events FROM event_log WHERE position IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),
          o AS (SELECT id, n_events, sum(n_events) OVER (ORDER BY id) AS upto FROM c),
          k AS (SELECT id, upto FROM o WHERE upto - n_events < $1),
          r AS (SELECT setval('event_position_seq', nextval('event_position_seq') + max(upto) - 1) AS last,
                       max(upto) AS total
                  FROM k HAVING count(*) > 0)
     UPDATE event_log e SET position = r.last - r.total + k.upto FROM k, r WHERE e.id = k.id
     RETURNING e.position, e.tenant_id, e.type, e.dag_id, e.payload, e.n_events, e.created_at`,
    [limit, publishedThrough],
    'marie_relay_stamp',
  );
  found.sort((a, b) => (BigInt(a.position) < BigInt(b.position) ? -1 : 1));
  return expandRows(found);
}

/** Raise the relay's watermark: everything up to `position` is published. */
export async function markPublished(run: RelayRunner, position: string): Promise<void> {
  await run(
    `UPDATE relay_state SET published_through = GREATEST(published_through, $1) WHERE id = 1`,
    [position],
    'marie_relay_mark',
  );
}

/**
 * Stamped events past the watermark (published, maybe not), in order, at most `limit`:
 * the watermark may lie inside a row, whose events up to it are left out.
 */
export async function eventsPastWatermark(run: RelayRunner, limit: number): Promise<LoggedEvent[]> {
  const found = await run(
    `SELECT e.position, e.tenant_id, e.type, e.dag_id, e.payload, e.n_events, e.created_at,
            r.published_through::text AS after
       FROM event_log e, relay_state r
       WHERE r.id = 1 AND e.position > r.published_through ORDER BY e.position LIMIT ${limit}`,
  );
  const after = (found[0] as { after?: string } | undefined)?.after;
  return after === undefined ? [] : expandRows(found, BigInt(after), limit);
}
