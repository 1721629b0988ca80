import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { expect } from 'vitest';
import { appendEvents, type NewEvent } from '../../src/events/event-log';
import { waitFor } from './dag-helpers';
import type { TestApp } from './test-app';

export interface Collected<T> {
  items: T[];
  errors: Array<{ message: string; extensions?: Record<string, unknown> }>;
  done: boolean;
  stop(): void;
}

/** Subscribe and collect the `field` of every event, and the errors. */
export function collect<T = Record<string, unknown>>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Collected<T> {
  const c: Collected<T> = { items: [], errors: [], done: false, stop: () => undefined };
  c.stop = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (r) => {
        if (r.errors?.length) c.errors.push(...(r.errors as Collected<T>['errors']));
        if (r.data) c.items.push(Object.values(r.data)[0]);
      },
      error: (e) => {
        const list = Array.isArray(e) ? e : [e];
        c.errors.push(...(list as Collected<T>['errors']));
        c.done = true;
      },
      complete: () => {
        c.done = true;
      },
    },
  );
  return c;
}

/** Wait until `n` streams of the tenant are live on that API process. */
export const waitSubscribed = (t: TestApp, tenantId: string, n: number) =>
  waitFor(async () => t.app.services.events.subscriberCount(tenantId) >= n, 10_000, `${n} subscribers`);

/** Wait until the relay (of `relay`, a scheduler) has stamped and published everything the tenant logged. */
export const waitPublished = (relay: TestApp, tenantId: string) =>
  waitFor(
    async () => {
      const [r] = await relay.app.services.ds.query<Array<{ done: boolean }>>(
        `SELECT (SELECT count(*) FROM event_log WHERE tenant_id = $1 AND position IS NULL) = 0
            AND (SELECT published_through FROM relay_state WHERE id = 1)
                >= (SELECT max(position) FROM event_log WHERE tenant_id = $1) AS done`,
        [tenantId],
      );
      return r.done;
    },
    10_000,
    'the relay to publish',
  );

export const until = <T>(c: Collected<T>, pred: (items: T[]) => boolean, label = 'events', ms = 20_000) =>
  waitFor(async () => pred(c.items), ms, label);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A live `jobStatusChanged` feed on `api` across a cut of its Redis subscriber: `cut` cuts it
 * off, three events are logged through `relay` (a scheduler, which stamps and publishes them)
 * and published meanwhile, `restore` brings it back. The subscriber gets those three, and the
 * events before and after, in order and once each.
 */
export async function missesNothingAcross(
  o: { api: TestApp; relay: TestApp; key: string; tenantId: string },
  cut: () => Promise<void>,
  restore: () => Promise<void>,
): Promise<void> {
  const { api, relay, key, tenantId } = o;
  const dagId = `away-${randomUUID()}`;
  const append = (...taskIds: string[]) =>
    relay.app.services.ds.transaction((m) =>
      appendEvents(
        m,
        tenantId,
        taskIds.map((taskId): NewEvent => ({
          type: 'JOB',
          dagId,
          payload: { dagId, taskId, name: taskId, state: 'ACTIVE', tryNumber: 1 },
        })),
      ),
    );
  const live = collect<{ cursor: string; taskId: string }>(
    api.ws(key),
    `subscription ($d: ID!) { jobStatusChanged(dagId: $d) { cursor taskId } }`,
    { d: dagId },
  );
  await waitSubscribed(api, tenantId, 1);
  await append('before');
  await until(live, (items) => items.length === 1, 'the first event, live');

  await cut();
  // Published while the api's subscriber is cut off: Redis drops them for it.
  await append('away-1', 'away-2');
  await append('away-3');
  await waitPublished(relay, tenantId);
  await restore();

  await until(live, (items) => items.length >= 4, 'the events published while away', 30_000);
  await append('after');
  await until(live, (items) => items.some((e) => e.taskId === 'after'), 'the event after, live', 10_000);
  expect(live.items.map((e) => e.taskId)).toEqual(['before', 'away-1', 'away-2', 'away-3', 'after']);
  const cursors = live.items.map((e) => BigInt(e.cursor));
  expect(cursors).toEqual([...cursors].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  expect(live.errors).toEqual([]);
  live.stop();
}
