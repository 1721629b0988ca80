import type { EntityManager } from 'typeorm';
import type { SqlRunner } from '../db/sql';
import type { NewEvent } from '../core/events';
import { insertEvents, lastPosition, trimEvents } from '../repositories/event-log.repository';

export type { EventPayloads, EventType, LoggedEvent, NewEvent } from '../core/events';
export { EVENTS_CHANNEL } from '../repositories/event-log.repository';

/**
 * Append events to the log inside the caller's transaction (the outbox): one statement
 * whatever their number, and a NOTIFY that wakes the relay once the transaction commits.
 * Each event's payload is checked against its type (core/events.ts).
 */
export async function appendEvents(m: EntityManager, tenantId: string, events: NewEvent[]): Promise<void> {
  await insertEvents(m, tenantId, events);
}

/**
 * Delete stamped events older than `retentionSeconds` (at most `limit` per call) and
 * raise each tenant's trim mark: a resume cursor below it is refused (CURSOR_EXPIRED).
 * Returns the rows deleted. `keepUnemittedFor` (OpenLineage out's receiver, its sink):
 * events not delivered to it yet stay, whatever their age.
 */
export function trimEventLog(
  m: SqlRunner,
  retentionSeconds: number,
  limit = 5000,
  keepUnemittedFor: string | null = null,
): Promise<number> {
  return trimEvents(m, retentionSeconds, limit, keepUnemittedFor);
}

/**
 * The tenant's event cursor now (its last stamped position, or its trim mark; 0 for an
 * empty log): subscribing `after` it misses nothing that was not visible here.
 */
export function lastEventPosition(m: SqlRunner, tenantId: string): Promise<string> {
  return lastPosition(m, tenantId);
}
