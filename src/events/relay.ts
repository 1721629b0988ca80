import { Client } from 'pg';
import type { Logger } from 'pino';
import type { RedisBus } from './bus';
import { isOutageError } from '../errors/outage';
import { CoalescedTask } from '../lib/coalesced-task';
import { EVENTS_CHANNEL } from './event-log';

/** An event as stored and published: `position` is the subscription cursor. */
export interface LoggedEvent {
  position: string;
  tenantId: string;
  type: string;
  dagId: string | null;
  payload: Record<string, unknown>;
  createdAt: string;
}

const RELAY_LOCK = 0x6d617269; // 'mari'

export const tenantChannel = (tenantId: string): string => `events:${tenantId}`;

interface Row {
  position: string;
  tenant_id: string;
  type: string;
  dag_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

const toEvent = (r: Row): LoggedEvent => ({
  position: String(r.position),
  tenantId: r.tenant_id,
  type: r.type,
  dagId: r.dag_id,
  payload: r.payload,
  createdAt: new Date(r.created_at).toISOString(),
});

/**
 * One relay at a time (a session advisory lock). On the connection that holds the lock,
 * and on no other (so a relay that lost its lock cannot write beside the next leader), it
 * stamps committed event rows with a position in the order they became visible,
 * publishes them to Redis per tenant, and moves a watermark. A relay that takes over republishes past the watermark, so a crash
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
        return (await this.stampBatch(1000)) === 1000;
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
  private async leaderQuery(sql: string, params: unknown[] = []): Promise<Row[]> {
    const c = this.client;
    if (!c || !this.leader) throw new Error('event relay: no longer the leader');
    try {
      return (await c.query<Row>(sql, params)).rows;
    } catch (err) {
      // Whatever broke, this connection (and the lock with it) is given up; the next tick
      // connects again and leads only if it gets the lock back.
      this.leader = false;
      if (this.client === c) this.client = null;
      void c.end().catch(() => undefined);
      throw err;
    }
  }

  private async stampBatch(limit: number): Promise<number> {
    const rows = await this.leaderQuery(
      `WITH c AS (SELECT id FROM event_log WHERE position IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),
            s AS (SELECT id, nextval('event_position_seq') AS pos FROM (SELECT id FROM c ORDER BY id) o)
       UPDATE event_log e SET position = s.pos FROM s WHERE e.id = s.id
       RETURNING e.position, e.tenant_id, e.type, e.dag_id, e.payload, e.created_at`,
      [limit],
    );
    if (rows.length === 0) return 0;
    await this.publish(rows);
    return rows.length;
  }

  private async publish(rows: Row[]): Promise<void> {
    rows.sort((a, b) => Number(BigInt(a.position) - BigInt(b.position)));
    const byTenant = new Map<string, LoggedEvent[]>();
    for (const r of rows)
      (byTenant.get(r.tenant_id) ?? byTenant.set(r.tenant_id, []).get(r.tenant_id)!).push(toEvent(r));
    try {
      for (const [tenantId, events] of byTenant)
        await this.bus.publish(tenantChannel(tenantId), JSON.stringify(events));
    } catch (err) {
      this.unpublished = true;
      throw err;
    }
    const last = rows[rows.length - 1].position;
    await this.leaderQuery(`UPDATE relay_state SET published_through = GREATEST(published_through, $1) WHERE id = 1`, [
      last,
    ]);
  }

  private async republishPastWatermark(): Promise<void> {
    for (;;) {
      const rows = await this.leaderQuery(
        `SELECT e.position, e.tenant_id, e.type, e.dag_id, e.payload, e.created_at FROM event_log e, relay_state r
         WHERE r.id = 1 AND e.position > r.published_through ORDER BY e.position LIMIT 1000`,
      );
      if (rows.length === 0) return;
      await this.publish(rows);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.task.idle();
    const c = this.client;
    this.client = null;
    this.leader = false;
    if (c) await c.end().catch(() => undefined);
  }
}
