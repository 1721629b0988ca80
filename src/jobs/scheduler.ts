import type { Services } from '../server/services';

export interface Sweep {
  name: string;
  run(): Promise<void>;
}

/**
 * The scheduler role: runs its sweeps (timers, retries, expiry, SLAs, retention, outbox
 * relay) every sweep interval. Several schedulers are safe: each sweep takes its own
 * row locks or advisory lock.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  readonly sweeps: Sweep[] = [];

  constructor(private readonly services: Services) {
    this.sweeps.push({
      name: 'forget-silent-workers',
      run: async () => {
        await services.ds.query(
          `DELETE FROM workers WHERE last_seen_at < now() - make_interval(secs => $1::double precision / 1000)`,
          [services.config.timings.workerStaleMs * 10],
        );
      },
    });
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick().finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(loop, this.services.config.timings.sweepIntervalMs);
      });
    };
    loop();
  }

  async tick(): Promise<void> {
    for (const sweep of this.sweeps) {
      if (this.stopped) return;
      try {
        await sweep.run();
      } catch (err) {
        this.services.log.error({ err, sweep: sweep.name }, 'sweep failed');
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
