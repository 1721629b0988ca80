import type { Client } from 'graphql-ws';
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
