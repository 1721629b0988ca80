import type { Logger } from 'pino';
import type { LoggedEvent } from '../core/events';

/** A logged event with its position, parsed once per event and shared by every listener. */
export interface HubEvent {
  position: bigint;
  log: LoggedEvent;
}

export type Listener = (events: HubEvent[]) => void;

/** How a topic reads the log: the tenant's events past a position (a page), and its last position. */
export interface TopicLog {
  /** At most `PAGE` events of every type past `after`, in order; `more`: the page was full. */
  past: (after: bigint) => Promise<{ events: HubEvent[]; more: boolean }>;
  /** The tenant's last stamped position now. */
  position: () => Promise<bigint>;
}

/**
 * One tenant's live feed in this process: one Redis subscription shared by its listeners,
 * and the position of the last event handed to them. Redis pub/sub keeps nothing for a
 * subscriber that is away. So when the process's subscriber connection drops
 * (RedisBus.onConnection), the topic holds what comes live from then on; when it is back and
 * subscribed again, `repair` reads what was published meanwhile from the event log, past
 * the last position handed out before the drop, hands it out, then the held live events.
 * Listeners drop what they already had by position.
 */
export class TenantTopic {
  readonly listeners = new Set<Listener>();
  /** Listeners whose Redis subscription is confirmed. */
  active = 0;
  ready!: Promise<() => Promise<void>>;
  /** The last position handed out (or the log's when the feed started); null: unknown yet. */
  private last: bigint | null = null;
  /** From the drop until the repair ends: live events held back. */
  private held: HubEvent[] | null = null;
  /** Where the repair reads from: the last position handed out before the drop. */
  private from: bigint | null = null;
  private repairing = false;
  /** Dropped again while repairing: keep holding afterwards. */
  private droppedAgain = false;
  /** Back again while repairing: repair again afterwards. */
  private backAgain = false;

  constructor(
    private readonly log: TopicLog,
    private readonly logger: Logger,
  ) {}

  /** Once subscribed: the log's position, where a repair would read from if nothing came yet. */
  async started(): Promise<void> {
    const at = await this.log.position();
    if (this.last === null || at > this.last) this.last = at;
  }

  /** Live events from the bus. */
  deliver(events: HubEvent[]): void {
    if (this.held) this.held.push(...events);
    else this.hand(events);
  }

  private hand(events: HubEvent[]): void {
    if (events.length === 0) return;
    const p = events[events.length - 1].position;
    if (this.last === null || p > this.last) this.last = p;
    for (const l of this.listeners) l(events);
  }

  /** The subscriber connection is gone: hold live events until the repair. */
  dropped(): void {
    if (this.repairing) this.droppedAgain = true;
    if (this.held !== null) return;
    this.held = [];
    this.from = this.last;
  }

  /** Subscribed again: hand out what the log holds past `from`, then the live events held meanwhile. */
  async repair(): Promise<void> {
    if (this.held === null) return;
    if (this.repairing) {
      this.backAgain = true;
      return;
    }
    this.repairing = true;
    let from = this.from;
    try {
      while (from !== null) {
        const page = await this.log.past(from);
        const fresh = page.events.filter((e) => e.position > from!);
        this.hand(fresh);
        if (fresh.length) from = fresh[fresh.length - 1].position;
        if (!page.more) break;
      }
    } catch (err) {
      this.logger.warn({ err }, 'live events missed while Redis was away could not be read back');
    } finally {
      this.repairing = false;
      // What the log gave is not handed again (a held event may have been read there too).
      const upto = from;
      const held = (this.held ?? []).filter((e) => upto === null || e.position > upto);
      this.held = null;
      this.hand(held);
      if (this.droppedAgain) {
        this.droppedAgain = false;
        this.dropped();
      }
      if (this.backAgain) {
        this.backAgain = false;
        void this.repair();
      }
    }
  }
}
