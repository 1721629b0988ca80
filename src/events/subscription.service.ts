import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { badInput } from '../errors/domain-error';
import { decodePositionCursor } from '../lib/pagination';
import { PULL, type Pullable, type Puller } from '../lib/pull-stream';
import { tenantChannel } from '../core/bus-channels';
import { EVENT_TYPES, type EventType, type LoggedEvent } from '../core/events';
import { eventsAfter, tenantEventsAfter, trimmedThrough } from '../repositories/event-log.repository';
import type { RedisBus } from './bus';
import { lastEventPosition } from './event-log';
import { TenantTopic, type HubEvent, type Listener } from './tenant-topic';

/** What one client subscription wants; every given field must match. */
export interface EventFilter {
  type: EventType;
  dagId?: string | null;
  /** The DAG's name (DAG events). */
  name?: string | null;
  /** Only terminal DAG states. */
  terminal?: boolean;
  assetKey?: string | null;
  /** The asset key's first segment, as `assets.namespace`. */
  namespace?: string | null;
}

export interface OpenOptions {
  /** Called once when the subscriber's buffer overflows; the stream has ended by then. */
  onOverflow?: () => void;
}

/** The close code a slow subscriber's socket gets: reconnect and resume with `after`. */
export const SLOW_CONSUMER_CLOSE = { code: 4409, reason: 'slow consumer: resume with after' } as const;

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
const PAGE = 500;

export function matches(f: EventFilter, e: LoggedEvent): boolean {
  if (e.type !== f.type) return false;
  if (f.dagId != null && (e.payload.dagId ?? e.dagId) !== f.dagId) return false;
  const named = e.type === 'DAG' || e.type === 'JOB' ? e.payload : null;
  if (f.name != null && named?.name !== f.name) return false;
  if (f.terminal && !TERMINAL.has(String(named?.state))) return false;
  const assetKey = e.type === 'ASSET_MATERIALIZED' ? e.payload.assetKey : undefined;
  if (f.assetKey != null && assetKey !== f.assetKey) return false;
  if (f.namespace != null && (typeof assetKey === 'string' ? assetKey : '').split('/')[0] !== f.namespace) return false;
  return true;
}

const KNOWN = new Set<string>(EVENT_TYPES);

/** The events of types this version knows (no subscription shows another), with their positions. */
function hubEvents(logs: readonly LoggedEvent[]): HubEvent[] {
  const out: HubEvent[] = [];
  for (const log of logs) if (KNOWN.has(log.type)) out.push({ position: BigInt(log.position), log });
  return out;
}

/**
 * Live events for this API process. One Redis subscription per tenant (not per client):
 * its handler parses each published batch once (the GraphQL objects are built once per
 * event at the edge, schema/mappers/event.mapper.ts), and hands the same events to every listener of that tenant, each of which filters in
 * memory and queues into its own bounded buffer. A subscription with `after` listens
 * first (buffering), replays the log past the cursor in pages, then drains the buffer,
 * skipping positions it already emitted: no gap and no duplicate at the seam. Positions
 * are also deduplicated afterwards (a relay that takes over republishes).
 */
export class SubscriptionService {
  private readonly topics = new Map<string, TenantTopic>();

  constructor(
    private readonly ds: DataSource,
    private readonly bus: RedisBus,
    private readonly log: Logger,
    private readonly bufferLimit: number,
  ) {
    // Redis keeps nothing for a subscriber that was away: each topic reads it back from the log.
    bus.watchConnection({
      dropped: () => {
        for (const t of this.topics.values()) t.dropped();
      },
      back: () => {
        for (const t of this.topics.values()) void t.repair();
      },
    });
  }

  /** How many tenants this process holds a Redis subscription for (tests, metrics). */
  get tenantCount(): number {
    return this.topics.size;
  }

  /** Open streams of a tenant in this process whose live feed is confirmed (tests, metrics). */
  subscriberCount(tenantId: string): number {
    return this.topics.get(tenantId)?.active ?? 0;
  }

  /** The tenant's cursor now (Query.eventCursor): subscribe `after` it to miss nothing. */
  cursor(tenantId: string): Promise<string> {
    return lastEventPosition(this.ds, tenantId);
  }

  private async listen(tenantId: string, listener: Listener): Promise<() => void> {
    let topic = this.topics.get(tenantId);
    if (!topic) {
      const t = new TenantTopic(
        {
          past: async (after) => {
            const found = await tenantEventsAfter(this.ds, tenantId, after, PAGE);
            return { events: hubEvents(found), more: found.length >= PAGE };
          },
          position: async () => BigInt(await lastEventPosition(this.ds, tenantId)),
        },
        this.log,
      );
      t.ready = this.bus
        .listen(tenantChannel(tenantId), (batch) => {
          const events = hubEvents(batch.filter((e) => e.tenantId === tenantId));
          if (events.length) t.deliver(events);
        })
        .then(async (unsubscribe) => {
          await t.started().catch((err: unknown) => this.log.warn({ err }, 'live feed: the log position is unknown'));
          return unsubscribe;
        });
      topic = t;
      this.topics.set(tenantId, topic);
    }
    const t = topic;
    t.listeners.add(listener);
    try {
      await t.ready;
    } catch (err) {
      t.listeners.delete(listener);
      if (this.topics.get(tenantId) === t && t.listeners.size === 0) this.topics.delete(tenantId);
      throw err;
    }
    t.active++;
    return () => {
      if (!t.listeners.delete(listener)) return;
      t.active--;
      if (t.listeners.size === 0 && this.topics.get(tenantId) === t) {
        this.topics.delete(tenantId);
        void t.ready.then((unsubscribe) => unsubscribe()).catch(() => undefined);
      }
    };
  }

  private async page(tenantId: string, filter: EventFilter, after: bigint): Promise<HubEvent[]> {
    return hubEvents(await eventsAfter(this.ds, tenantId, after, filter.type, filter.dagId ?? null, PAGE));
  }

  private async assertNotExpired(tenantId: string, after: bigint): Promise<void> {
    const trimmed = await trimmedThrough(this.ds, tenantId);
    if (trimmed !== null && BigInt(trimmed) > after) {
      throw badInput('after', 'this cursor is older than the event log retention; subscribe without after', {
        reason: 'CURSOR_EXPIRED',
      });
    }
  }

  /**
   * A stream of the tenant's events that match `filter`, from just after `after` (a
   * cursor) or from now. Throws BAD_USER_INPUT (reason CURSOR_EXPIRED) for a cursor
   * whose following events were trimmed.
   */
  async open(
    tenantId: string,
    filter: EventFilter,
    after: string | null | undefined,
    opts: OpenOptions = {},
  ): Promise<AsyncIterableIterator<LoggedEvent>> {
    const cursor = decodePositionCursor('after', after);
    const stream = new EventStream(filter, this.bufferLimit, opts.onOverflow);
    stream.unlisten = await this.listen(tenantId, (events) => stream.push(events));
    if (cursor == null) return stream;
    try {
      // Read the first page, then check the trim mark: if nothing past the cursor had
      // been trimmed by then, the page saw everything after it.
      const first = await this.page(tenantId, filter, cursor);
      await this.assertNotExpired(tenantId, cursor);
      stream.replay(first, cursor, (from) => this.page(tenantId, filter, from));
    } catch (err) {
      await stream.return();
      throw err;
    }
    return stream;
  }
}

/**
 * One subscriber's stream: replayed pages first, then its bounded live buffer. Written
 * by hand rather than as an async generator so that `return()` (client gone) ends it at
 * once even while it waits for the next event. It can also be drained synchronously
 * (lib/pull-stream.ts: the WebSocket fan-out takes every subscriber's events in one loop):
 * then every event waits in the same bounded buffer until taken, and the same overflow holds.
 */
class EventStream implements AsyncIterableIterator<LoggedEvent>, Pullable<LoggedEvent> {
  unlisten: (() => void) | null = null;
  private readonly live: HubEvent[] = [];
  private replayed: HubEvent[] = [];
  private nextPage: ((from: bigint) => Promise<HubEvent[]>) | null = null;
  /** The last position emitted (or the cursor): anything at or below it is a duplicate. */
  private last: bigint | null = null;
  private waiting: ((r: IteratorResult<LoggedEvent>) => void) | null = null;
  private done = false;
  /** Pulling (PULL): called when `take` may have something new. */
  private onReady: (() => void) | null = null;
  /** Pulling: a replay page is being read; or the error reading one failed with. */
  private fetching = false;
  private failed: { err: unknown } | null = null;

  constructor(
    private readonly filter: EventFilter,
    private readonly limit: number,
    private readonly onOverflow: (() => void) | undefined,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<LoggedEvent> {
    return this;
  }

  replay(first: HubEvent[], cursor: bigint, nextPage: (from: bigint) => Promise<HubEvent[]>): void {
    this.last = cursor;
    this.replayed = first;
    this.nextPage = first.length >= PAGE ? nextPage : null;
  }

  push(events: HubEvent[]): void {
    if (this.done) return;
    const before = this.live.length;
    this.pushEvents(events);
    if (this.onReady && !this.done && this.live.length > before) this.onReady();
  }

  private pushEvents(events: HubEvent[]): void {
    for (const e of events) {
      if (!matches(this.filter, e.log)) continue;
      if (this.waiting && !this.replaying && (this.last == null || e.position > this.last)) {
        const resolve = this.waiting;
        this.waiting = null;
        this.last = e.position;
        resolve({ value: e.log, done: false });
        continue;
      }
      if (this.live.length >= this.limit) {
        this.finish();
        this.onOverflow?.();
        return;
      }
      this.live.push(e);
    }
  }

  private get replaying(): boolean {
    return this.replayed.length > 0 || this.nextPage != null;
  }

  async next(): Promise<IteratorResult<LoggedEvent>> {
    for (;;) {
      if (this.done) return { value: undefined, done: true };
      if (this.replayed.length === 0 && this.nextPage) {
        const more = await this.nextPage(this.last ?? 0n);
        if (this.done) return { value: undefined, done: true };
        this.replayed = more;
        if (more.length < PAGE) this.nextPage = null;
      }
      const source = this.replayed.length ? this.replayed : this.live;
      const e = source.shift();
      if (!e) break;
      if (this.last != null && e.position <= this.last) continue;
      this.last = e.position;
      return { value: e.log, done: false };
    }
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  [PULL](onReady: () => void): Puller<LoggedEvent> {
    this.onReady = onReady;
    return { take: () => this.take() };
  }

  private take(): IteratorResult<LoggedEvent, undefined> | null {
    for (;;) {
      if (this.failed) throw this.failed.err;
      if (this.done) return { value: undefined, done: true };
      if (this.replayed.length === 0 && this.nextPage) {
        if (!this.fetching) this.fetchPage(this.nextPage);
        return null;
      }
      const source = this.replayed.length ? this.replayed : this.live;
      const e = source.shift();
      if (!e) return null;
      if (this.last != null && e.position <= this.last) continue;
      this.last = e.position;
      return { value: e.log, done: false };
    }
  }

  private fetchPage(nextPage: (from: bigint) => Promise<HubEvent[]>): void {
    this.fetching = true;
    nextPage(this.last ?? 0n).then(
      (more) => {
        this.fetching = false;
        if (this.done) return;
        this.replayed = more;
        if (more.length < PAGE) this.nextPage = null;
        this.onReady?.();
      },
      (err: unknown) => {
        this.fetching = false;
        this.failed = { err };
        this.onReady?.();
      },
    );
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.live.length = 0;
    this.replayed = [];
    this.nextPage = null;
    this.unlisten?.();
    this.unlisten = null;
    const w = this.waiting;
    this.waiting = null;
    w?.({ value: undefined, done: true });
    this.onReady?.();
  }

  async return(): Promise<IteratorResult<LoggedEvent>> {
    this.finish();
    return { value: undefined, done: true };
  }

  async throw(err: unknown): Promise<IteratorResult<LoggedEvent>> {
    this.finish();
    throw err;
  }
}
