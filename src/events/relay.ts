import { Client } from 'pg';
import type { Logger } from 'pino';
import type { RedisBus } from './bus';
import { isOutageError } from '../errors/outage';
import { CoalescedTask } from '../lib/coalesced-task';
import { tenantChannel } from '../core/bus-channels';
import type { LoggedEvent } from '../core/events';
import {
  EVENTS_CHANNEL,
  eventsPastWatermark,
  markPublished,
  RELAY_LOCK,
  stampEvents,
  type EventRow,
} from '../repositories/event-log.repository';

export type { LoggedEvent } from '../core/events';
export { tenantChannel } from '../core/bus-channels';

/**
 * One relay at a time (a session advisory lock). On the connection that holds the lock,
 * and on no other (so a relay that lost its lock cannot write beside the next leader), it
 * stamps committed event rows with positions in the order they became visible (a row of
 * n coalesced events takes n consecutive ones), publishes each event with its own
 * position to Redis per tenant, and moves a watermark. A relay that takes over republishes past the watermark, so a crash
 * between commit and publish delays events but loses none (subscribers drop duplicates
 * by position).
 */
export class EventRelay {
  private client: Client | null = null;
  private leader = false;
  private readonly task: CoalescedTask;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** Stamped events whose publish failed: republished from the watermark before anything new. */
  private unpublished = false;
  /** Published through here, not yet in relay_state: written by the next stamping statement. */
  private publishedThrough: string | null = null;

  constructor(
    private readonly url: string,
    private readonly bus: RedisBus,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {
    this.task = new CoalescedTask(
      async () => {
        if (this.unpublished) {
          // A publish failed (Redis away): what it held is stamped but past the watermark.
          await this.republishPastWatermark();
          this.unpublished = false;
        }
        return (await this.stampBatch(1000)) >= 1000;
      },
      (err) =>
        isOutageError(err)
          ? this.log.warn({ err: String(err) }, 'event relay waits for its stores')
          : this.log.error({ err }, 'event relay failed'),
    );
  }

  get isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    await this.tryLead();
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        void (this.leader ? this.kick() : this.tryLead()).finally(tick);
      }, this.intervalMs);
    };
    tick();
  }

  private async tryLead(): Promise<void> {
    if (this.leader || this.stopped) return;
    try {
      const client = this.client ?? new Client({ connectionString: this.url, application_name: 'marie-relay' });
      if (!this.client) {
        client.on('error', (err) => {
          this.log.warn({ err: err.message }, 'relay connection lost');
          this.leader = false;
          this.client = null;
        });
        await client.connect();
        this.client = client;
      }
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RELAY_LOCK]);
      if (!got.rows[0]?.ok) return;
      client.on('notification', () => void this.kick());
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
      this.leader = true;
      this.log.info('event relay: leading');
      await this.republishPastWatermark();
      await this.kick();
    } catch (err) {
      this.log.warn({ err }, 'event relay could not start');
    }
  }

  /** Stamp and publish what is visible now; coalesces concurrent calls. */
  kick(): Promise<void> {
    return !this.leader || this.stopped ? Promise.resolve() : this.task.run();
  }

  /**
   * Statements of the leader run on the connection that holds the lock: if that
   * connection is lost (and with it the lock, which another relay may then take), they
   * fail instead of stamping and publishing beside the new leader.
   */
  private readonly leaderQuery = async (sql: string, params: unknown[] = [], name?: string): Promise<EventRow[]> => {
    const c = this.client;
    if (!c || !this.leader) throw new Error('event relay: no longer the leader');
    try {
      // A named statement is prepared once per connection (pg keeps track), then only bound.
      return (await c.query<EventRow>(name ? { name, text: sql, values: params } : { text: sql, values: params })).rows;
    } catch (err) {
      // Whatever broke, this connection (and the lock with it) is given up; the next tick
      // connects again and leads only if it gets the lock back.
      this.leader = false;
      if (this.client === c) this.client = null;
      void c.end().catch(() => undefined);
      throw err;
    }
  };

  private async stampBatch(limit: number): Promise<number> {
    // The last batch's watermark rides on this statement (see stampEvents).
    const mark = this.publishedThrough;
    const events = await stampEvents(this.leaderQuery, limit, mark);
    if (mark === this.publishedThrough) this.publishedThrough = null;
    if (events.length === 0) return 0;
    await this.publish(events, true);
    return events.length;
  }

  /**
   * Publish in position order, per tenant, then move the watermark: at once, or (`defer`,
   * the stamping loop) with the next stamping statement, which the periodic tick runs when
   * nothing else comes. A deferred mark lost in a crash only makes the next leader
   * republish that batch, whose duplicates subscribers drop by position.
   */
  private async publish(events: LoggedEvent[], defer = false): Promise<void> {
    events.sort((a, b) => Number(BigInt(a.position) - BigInt(b.position)));
    const byTenant = new Map<string, LoggedEvent[]>();
    for (const e of events) (byTenant.get(e.tenantId) ?? byTenant.set(e.tenantId, []).get(e.tenantId)!).push(e);
    try {
      for (const [tenantId, batch] of byTenant) await this.bus.send(tenantChannel(tenantId), batch);
    } catch (err) {
      this.unpublished = true;
      throw err;
    }
    const last = events[events.length - 1].position;
    if (defer) this.publishedThrough = last;
    else await markPublished(this.leaderQuery, last);
  }

  private async republishPastWatermark(): Promise<void> {
    for (;;) {
      const events = await eventsPastWatermark(this.leaderQuery, 1000);
      if (events.length === 0) return;
      await this.publish(events);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.task.idle();
    // A graceful stop leaves the watermark exact: the next leader republishes nothing twice.
    if (this.publishedThrough && this.leader) {
      await markPublished(this.leaderQuery, this.publishedThrough).catch(() => undefined);
      this.publishedThrough = null;
    }
    const c = this.client;
    this.client = null;
    this.leader = false;
    if (c) await c.end().catch(() => undefined);
  }
}
