import type { LoggedEvent } from '../../core/events';
import { isPullable, mapPuller, PULL, type Pullable } from '../../lib/pull-stream';
import {
  AssetMaterializedEvent,
  DagEvent,
  IncompleteAssetsEvent,
  JobEvent,
  SlaEvent,
  type EventView,
} from '../event.type';

/*
 * Logged events → the GraphQL objects their subscriptions return. Payloads are typed by
 * event type (core/events.ts); the defaults cover rows written without an optional field.
 */

const date = (v: string | undefined, fallback: string): Date => new Date(v ?? fallback);

function build(e: LoggedEvent): EventView {
  switch (e.type) {
    case 'DAG': {
      const p = e.payload;
      return Object.assign(new DagEvent(), {
        cursor: e.position,
        dagId: p.dagId ?? e.dagId ?? '',
        name: p.name ?? '',
        state: p.state,
        previousState: p.previousState ?? null,
        // Events written before the cache counted no `cached`.
        progress: (p.progress as typeof p.progress | undefined) && { ...p.progress, cached: p.progress.cached ?? 0 },
        at: date(p.at, e.createdAt),
      });
    }
    case 'JOB': {
      const p = e.payload;
      return Object.assign(new JobEvent(), {
        cursor: e.position,
        dagId: p.dagId ?? e.dagId ?? '',
        taskId: p.taskId ?? '',
        name: p.name ?? '',
        state: p.state,
        previousState: p.previousState ?? null,
        tryNumber: p.tryNumber ?? 0,
        error: p.error ?? null,
        progressPercent: p.progressPercent ?? null,
        at: date(p.at, e.createdAt),
      });
    }
    case 'ASSET_MATERIALIZED': {
      const p = e.payload;
      return Object.assign(new AssetMaterializedEvent(), {
        cursor: e.position,
        assetKey: p.assetKey ?? '',
        materializationId: p.materializationId ?? '',
        at: date(p.at, e.createdAt),
      });
    }
    case 'ASSETS_INCOMPLETE': {
      const p = e.payload;
      return Object.assign(new IncompleteAssetsEvent(), {
        cursor: e.position,
        dagId: p.dagId ?? e.dagId ?? '',
        incompleteNodes: p.incompleteNodes ?? [],
        at: date(p.at, e.createdAt),
      });
    }
    case 'SLA': {
      const p = e.payload;
      return Object.assign(new SlaEvent(), {
        cursor: e.position,
        dagId: p.dagId ?? e.dagId ?? '',
        taskId: p.taskId ?? null,
        kind: p.kind,
        deadline: date(p.deadline, e.createdAt),
        at: date(p.at, e.createdAt),
      });
    }
  }
}

const built = new WeakMap<LoggedEvent, EventView>();

/**
 * The GraphQL object of a logged event, built once per event object: the event hub hands
 * the same event to every subscriber of the tenant in this process, so they all get the
 * same object, and the WebSocket server's fan-out (server/shared-subscribe.ts) runs each
 * distinct operation once per event.
 */
export function toEventView(e: LoggedEvent): EventView {
  let view = built.get(e);
  if (!view) built.set(e, (view = build(e)));
  return view;
}

/**
 * A stream of logged events as their GraphQL objects; `return()` ends the source at once.
 * Pullable (lib/pull-stream.ts) when the source is.
 */
export function toEventViews(
  events: AsyncIterableIterator<LoggedEvent> & Partial<Pullable<LoggedEvent>>,
): AsyncIterableIterator<EventView> {
  const mapped: AsyncIterableIterator<EventView> & Partial<Pullable<EventView>> = {
    [Symbol.asyncIterator]: () => mapped,
    async next() {
      const r = await events.next();
      return r.done ? { done: true, value: undefined } : { done: false, value: toEventView(r.value) };
    },
    async return() {
      await events.return?.();
      return { done: true, value: undefined };
    },
    async throw(err: unknown) {
      await events.return?.();
      throw err;
    },
  };
  if (isPullable<LoggedEvent>(events)) mapped[PULL] = (onReady) => mapPuller(events[PULL](onReady), toEventView);
  return mapped;
}
