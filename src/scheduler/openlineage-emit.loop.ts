import type { Logger } from 'pino';
import { isOutageError } from '../errors/outage';
import type { OpenLineageEmitter } from '../services/openlineage/ol-emitter.service';

/**
 * The scheduler's OpenLineage emitter, on a loop of its own (a slow receiver never holds
 * up the sweeps): a round at once while there is more, else after `idleMs`, or when the
 * backoff the last failure set is over.
 */
export class OpenLineageEmitLoop {
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private storeDown = false;

  constructor(
    private readonly emitter: OpenLineageEmitter,
    private readonly log: Logger,
    private readonly idleMs: number,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let waitMs: number;
      try {
        const next = await this.emitter.round();
        waitMs = next ?? this.idleMs;
        if (this.storeDown) this.log.info('OpenLineage emitter: stores reachable again');
        this.storeDown = false;
      } catch (err) {
        waitMs = this.idleMs;
        if (!isOutageError(err)) this.log.error({ err }, 'OpenLineage emitter failed');
        else if (!this.storeDown) this.log.warn({ err: String(err) }, 'OpenLineage emitter waits for its stores');
        this.storeDown = isOutageError(err);
      }
      if (waitMs > 0 && !this.stopped) await this.sleep(waitMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }
}
