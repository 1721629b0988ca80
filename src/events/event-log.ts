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
