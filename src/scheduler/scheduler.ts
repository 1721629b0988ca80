import { isOutageError } from '../errors/outage';
import { EventRelay } from '../events/relay';
import { OpenLineageEmitLoop } from './openlineage-emit.loop';
import type { Services } from '../services/process-services';
import { callbacksSweep } from './sweeps/callbacks.sweep';
import { dispatchSweep } from './sweeps/dispatch.sweep';
import { expirySweep } from './sweeps/expiry.sweep';
import { graphChangesSweep } from './sweeps/graph-changes.sweep';
import { leaseSweep } from './sweeps/lease.sweep';
import { progressSweep } from './sweeps/progress.sweep';
import { purgeSweep } from './sweeps/purge.sweep';
import { redispatchSweep } from './sweeps/redispatch.sweep';
import { slaSweep } from './sweeps/sla.sweep';
import type { Sweep } from './sweeps/sweep';
import { trimSweep } from './sweeps/trim.sweep';
import { workersSweep } from './sweeps/workers.sweep';

/**
 * The scheduler role: dispatch of due jobs (startAfter, retry delays), re-enqueueing what
 * Redis lost, lost leases, expiry, SLAs, callbacks, purge, event-log trimming, and the
 * event relay, and OpenLineage out. Several schedulers are safe: each sweep claims rows with SKIP LOCKED or
 * guarded updates, and the relay holds an advisory lock.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  readonly sweeps: Sweep[];
  readonly relay: EventRelay;
  /** OpenLineage out, when OPENLINEAGE_URL is set. */
  readonly openLineage: OpenLineageEmitLoop | null;

  constructor(
    private readonly services: Services,
    databaseUrl: string,
  ) {
    this.relay = new EventRelay(databaseUrl, services.bus, services.log, services.config.timings.sweepIntervalMs);
    this.openLineage = services.openLineageEmitter
      ? new OpenLineageEmitLoop(services.openLineageEmitter, services.log, services.config.timings.sweepIntervalMs)
      : null;
    // In this order at each tick (sweeps/, one file each).
    this.sweeps = [
      dispatchSweep,
      leaseSweep,
      expirySweep,
      progressSweep,
      slaSweep,
      redispatchSweep,
      callbacksSweep,
      purgeSweep,
      trimSweep,
      graphChangesSweep,
      workersSweep,
    ].map((sweep) => sweep(services));
  }

  async start(): Promise<void> {
    await this.relay.start();
    this.openLineage?.start();
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
    await this.openLineage?.stop();
    await this.relay.stop();
  }
}
