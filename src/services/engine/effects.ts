import type { Logger } from 'pino';
import { CANCEL } from '../../core/bus-channels';
import type { RedisBus } from '../../events/bus';
import type { Dispatcher } from '../../jobs/dispatcher';
import type { ClaimedDispatch, QueuedDispatch } from '../../repositories/job-dispatch.repository';

/**
 * What a command or transition decided should happen outside Postgres once its
 * transaction commits. Commands return these; `AfterCommit.apply` applies them.
 */
export interface Effects {
  /** Dispatches claimed in the transaction: enqueued once (claimable again if that fails). */
  claimed?: ClaimedDispatch[];
  /** Jobs may have become ready without being claimed: dispatch what is ready now. */
  dispatch?: boolean;
  /** Wake-up times: a retry delay or startAfter comes due. */
  wakeAt?: Date[];
  /** Running attempts to stop: broadcast to the workers that run them. */
  cancel?: string[];
  /** Dispatches of cancelled jobs that may still sit in their queues. */
  dequeue?: QueuedDispatch[];
}

/** Several commands' effects as one. */
export function mergeEffects(...list: Effects[]): Effects {
  return {
    claimed: list.flatMap((e) => e.claimed ?? []),
    dispatch: list.some((e) => e.dispatch),
    wakeAt: list.flatMap((e) => e.wakeAt ?? []),
    cancel: list.flatMap((e) => e.cancel ?? []),
    dequeue: list.flatMap((e) => e.dequeue ?? []),
  };
}

/**
 * The one place that applies after-commit effects: claimed dispatches go to their queues
 * (the dispatcher makes them claimable again if that fails), a dispatch pass when jobs
 * became ready unclaimed, wake-ups, the cancel broadcast, and removing cancelled
 * dispatches from their queues.
 */
export class AfterCommit {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly bus: RedisBus,
    private readonly log: Logger,
  ) {}

  /** Apply `e` now; the first failure is thrown (the transaction is committed whatever happens here). */
  async apply(e: Effects): Promise<void> {
    if (e.claimed?.length) await this.dispatcher.enqueueClaimed(e.claimed);
    if (e.dispatch) await this.dispatcher.kick();
    for (const at of e.wakeAt ?? []) this.dispatcher.kickAt(at);
    if (e.cancel?.length) await this.bus.send(CANCEL, e.cancel);
    if (e.dequeue?.length) await this.dispatcher.removeQueued(e.dequeue);
  }

  /**
   * Apply `e` in the background, named `name` in the log if it fails: it never holds the
   * answer, and a store that is down delays it (the scheduler dispatches what is ready
   * once Redis is back), it does not fail the command.
   */
  later(name: string, effect: () => Promise<void>): void {
    const p = effect()
      .catch((err: unknown) => this.log.warn({ err: String(err), effect: name }, 'after-commit effect failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves when the background effects started so far are over (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
