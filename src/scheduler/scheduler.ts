import { isOutageError } from '../errors/outage';
import { trimEventLog } from '../events/event-log';
import { EventRelay } from '../events/relay';
import type { Services } from '../app/container';

export interface Sweep {
  name: string;
  run(): Promise<void>;
}

/**
 * The scheduler role: dispatch of due jobs (startAfter, retry delays), re-enqueueing what
 * Redis lost, lost leases, expiry, SLAs, callbacks, purge, event-log trimming, and the
 * event relay. Several schedulers are safe: each sweep claims rows with SKIP LOCKED or
 * guarded updates, and the relay holds an advisory lock.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  readonly sweeps: Sweep[];
  readonly relay: EventRelay;

  constructor(
    private readonly services: Services,
    databaseUrl: string,
  ) {
    const { ds, engine, dispatcher, callbacks, config } = services;
    this.relay = new EventRelay(databaseUrl, services.bus, services.log, config.timings.sweepIntervalMs);
    this.sweeps = [
      { name: 'dispatch', run: () => dispatcher.kick() },
      {
        name: 'lost-leases',
        run: async () => {
          if ((await engine.sweepLostLeases()) > 0) await dispatcher.kick();
        },
      },
      {
        name: 'expiry',
        run: async () => {
          for (const e of await engine.sweepExpired()) if (e.retryAt) dispatcher.kickAt(e.retryAt);
        },
      },
      { name: 'slas', run: async () => dispatcher.removeQueued((await engine.sweepSlas()).queued) },
      { name: 'redispatch-stale', run: async () => void (await dispatcher.redispatchStale()) },
      { name: 'callbacks', run: async () => void (await callbacks.sweep()) },
      { name: 'purge', run: async () => void (await engine.sweepPurge()) },
      {
        name: 'trim-event-log',
        run: async () => void (await trimEventLog(ds, config.eventRetentionDays * 86_400)),
      },
      {
        name: 'forget-silent-workers',
        run: async () => {
          await ds.query(
            `DELETE FROM workers WHERE last_seen_at < now() - make_interval(secs => $1::double precision / 1000)`,
            [config.timings.workerStaleMs * 10],
          );
        },
      },
    ];
  }

  async start(): Promise<void> {
    await this.relay.start();
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick().finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(loop, this.services.config.timings.sweepIntervalMs);
      });
    };
    loop();
  }

  /** A store was unreachable on the last tick (said once, not at every sweep of every tick). */
  private storeDown = false;

  async tick(): Promise<void> {
    let down = false;
    for (const sweep of this.sweeps) {
      if (this.stopped) return;
      try {
        await sweep.run();
      } catch (err) {
        if (!isOutageError(err)) {
          this.services.log.error({ err, sweep: sweep.name }, 'sweep failed');
          continue;
        }
        down = true;
        if (!this.storeDown)
          this.services.log.warn({ err: String(err), sweep: sweep.name }, 'scheduler: a store is unreachable');
        this.storeDown = true;
      }
    }
    if (!down && this.storeDown) {
      this.storeDown = false;
      this.services.log.info('scheduler: stores reachable again');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.relay.stop();
  }
}
