import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { isOutageError, StoreUnavailableError } from '../errors/outage';
import type { QuotaPolicy } from '../core/quota-policy';
import { CoalescedTask } from '../lib/coalesced-task';
import type { ClaimedDispatch, JobDispatchRepository, QueuedDispatch } from '../repositories/job-dispatch.repository';
import { bullJobId, bullPriority, queueName, type DispatchPayload, type QueueRegistry } from './queues';

/**
 * Runs a claimed dispatch in this process at once when it can (this process's worker
 * consumes its queue and has a slot free): true when it took it.
 */
export type LocalRunner = (dispatch: ClaimedDispatch) => boolean;

/** What a claimed dispatch's BullMQ job (or its run here) carries. */
export const dispatchPayload = (r: ClaimedDispatch): DispatchPayload => ({
  jobId: r.id,
  tenantId: r.tenantId,
  tryNumber: r.tryNumber,
  dispatch: r.dispatch,
});

/** BullMQ's order of dispatches (`bullPriority`): higher priority first, then lower level. */
const queueOrder = (a: ClaimedDispatch, b: ClaimedDispatch): number =>
  bullPriority(a.priority, a.jobLevel) - bullPriority(b.priority, b.jobLevel);

/**
 * Moves ready jobs (every dependency COMPLETED, startAfter / retry delay passed) from
 * Postgres to their executor's BullMQ queue through the fair claim (JobDispatchRepository:
 * weighted round-robin over tenants, then priority and level; every limit checked in the
 * claim). A claim bumps the job's dispatch number in one UPDATE guarded by `dispatched_at
 * IS NULL`, so each dispatch is enqueued once whichever process claims it; claims that
 * check a limit (all of them under QUOTAS_FILE, else those that may take jobs with a
 * concurrency key) run one at a time under an advisory lock. Redis is not a store of
 * record: a dispatch whose BullMQ job vanished (Redis flushed, a crash between claim and
 * add) or was taken by a worker that never started it is enqueued again as the next
 * dispatch.
 */
export class Dispatcher {
  private readonly task: CoalescedTask;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** This process's worker, while it runs (EAGER_DISPATCH): takes what it has room for. */
  private localRunner: LocalRunner | null = null;

  constructor(
    private readonly ds: DataSource,
    private readonly queues: QueueRegistry,
    private readonly repo: JobDispatchRepository,
    private readonly quotas: { readonly policy: QuotaPolicy; readonly enabled: boolean },
    private readonly config: AppConfig,
    private readonly log: Logger,
  ) {
    this.task = new CoalescedTask(
      async () => {
        const n = await this.dispatchReady(500);
        this.storeDown = false;
        return n === 500;
      },
      (err) => {
        if (!isOutageError(err)) return this.log.error({ err }, 'dispatch failed');
        if (!this.storeDown) this.log.warn({ err: String(err) }, 'dispatch waits for its stores');
        this.storeDown = true;
      },
    );
  }

  /** A kick met an unreachable store (said once until a kick gets through). */
  private storeDown = false;
  private redisDown = false;

  /** Redis connected: say once when it goes away and once when it is back. */
  private redisReady(): boolean {
    const ready = this.queues.ready;
    if (ready === this.redisDown) {
      this.redisDown = !ready;
      if (ready) this.log.info('Redis is back: dispatching again');
      else this.log.warn('Redis is unreachable: ready jobs stay in Postgres until it is back');
    }
    return ready;
  }

  /** Dispatch what is ready now; coalesces concurrent calls. */
  kick(): Promise<void> {
    return this.closed ? Promise.resolve() : this.task.run();
  }

  /** Kick again when a retry delay or startAfter comes due. */
  kickAt(when: Date): void {
    if (this.closed) return;
    const ms = Math.max(0, when.getTime() - Date.now()) + 5;
    if (ms > 2 ** 31 - 1) return; // the sweep will get it
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.kick();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  /** The last claim saw jobs with a concurrency key: the next one starts under the claim lock. */
  private keyedSeen = false;

  async dispatchReady(limit: number): Promise<number> {
    if (!this.redisReady()) return 0; // claimed by the next kick or sweep once Redis is back
    const { policy, enabled } = this.quotas;
    const opts = { workerStaleMs: this.config.timings.workerStaleMs, shallowQueues: enabled };
    // Limits hold in the claim itself only if the claims that check them run one at a time:
    // under QUOTAS_FILE every claim takes the claim lock; without, only claims that may take
    // jobs with a concurrency key do (an unlocked claim leaves those and says it saw some).
    const locked = () =>
      this.ds.transaction(async (m) => {
        await this.repo.lockClaims(m);
        return this.repo.claimReady(m, limit, policy, { ...opts, locked: true });
      });
    let r =
      enabled || this.keyedSeen
        ? await locked()
        : await this.repo.claimReady(this.ds, limit, policy, { ...opts, locked: false });
    let claimed = r.claimed;
    if (r.keyed && !enabled && !this.keyedSeen) {
      r = await locked();
      claimed = [...claimed, ...r.claimed];
    }
    this.keyedSeen = r.keyed;
    if (claimed.length === 0) return 0;
    await this.enqueueClaimed(claimed);
    return claimed.length;
  }

  /** Hand claimed dispatches to this process's worker first; returns what stops that (when the worker stops). */
  runLocally(runner: LocalRunner): () => void {
    this.localRunner = runner;
    return () => {
      if (this.localRunner === runner) this.localRunner = null;
    };
  }

  /**
   * Enqueue claimed dispatches (a completion's statement, a claim pass); on failure they
   * are claimable again. Those this process's worker has room for run here at once: no
   * BullMQ add and pick-up between a job and its ready dependent. A dispatch taken here
   * that never starts (the process dies first) has no BullMQ job, and the stale-dispatch
   * sweep enqueues it again, as after a crash between claim and add.
   */
  async enqueueClaimed(claimed: ClaimedDispatch[]): Promise<void> {
    const runner = this.localRunner;
    // Offered in the queue's order (higher priority, then lower level first): the slots
    // free here go to the jobs the queue would have handed out first.
    const rest = runner ? [...claimed].sort(queueOrder).filter((c) => !runner(c)) : claimed;
    if (rest.length === 0) return;
    try {
      if (!this.redisReady()) throw new StoreUnavailableError('redis');
      await this.enqueue(rest);
    } catch (err) {
      // Leave them to be claimed again rather than lost.
      await this.repo.unclaim(
        this.ds,
        rest.map((c) => c.id),
      );
      throw err;
    }
  }

  private async enqueue(rows: ClaimedDispatch[]): Promise<void> {
    const byQueue = new Map<string, ClaimedDispatch[]>();
    for (const r of rows) {
      const name = queueName(r.executor, r.requiresGpu);
      (byQueue.get(name) ?? byQueue.set(name, []).get(name)!).push(r);
    }
    await Promise.all(
      [...byQueue].map(([name, list]) =>
        this.queues.get(name).addBulk(
          list.map((r) => {
            const data = dispatchPayload(r);
            return {
              name: 'run',
              data,
              opts: {
                jobId: bullJobId(data),
                priority: bullPriority(r.priority, r.jobLevel),
                attempts: 1,
                removeOnComplete: true,
                removeOnFail: true,
              },
            };
          }),
        ),
      ),
    );
  }

  /**
   * Dispatched jobs that have not started within a lease length: if their BullMQ job is
   * gone (Redis lost it), enqueue the same dispatch again.
   */
  async redispatchStale(limit = 500): Promise<number> {
    if (!this.redisReady()) return 0;
    const rows = await this.repo.touchStale(this.ds, this.config.timings.leaseMs, limit);
    const lost: string[] = [];
    for (const r of rows) {
      const q = this.queues.get(queueName(r.executor, r.requiresGpu));
      const existing = await q.getJob(bullJobId({ jobId: r.id, tryNumber: r.tryNumber, dispatch: r.dispatch }));
      const state = existing ? await existing.getState() : 'missing';
      // Still queued: leave it. Missing, or taken by a worker that never started it: lost.
      if (!['waiting', 'prioritized', 'delayed', 'waiting-children'].includes(state)) lost.push(r.id);
    }
    if (lost.length === 0) return 0;
    // A new dispatch number: whatever is left of the old one in Redis is refused at start.
    const again = await this.repo.redispatch(this.ds, lost);
    if (again.length) {
      this.log.warn({ count: again.length }, 're-enqueueing dispatches that Redis lost');
      await this.enqueue(again);
    }
    return again.length;
  }

  /**
   * Remove the BullMQ entries of dispatches that will never run (their jobs were
   * cancelled before starting). Best effort: a worker that fetches one anyway is refused
   * at start, so a failure here is only logged.
   */
  async removeQueued(dispatches: QueuedDispatch[]): Promise<void> {
    if (dispatches.length === 0 || !this.queues.ready) return;
    try {
      await Promise.all(
        dispatches.map((d) =>
          this.queues
            .get(queueName(d.executor, d.requiresGpu))
            .remove(bullJobId({ jobId: d.jobId, tryNumber: d.tryNumber, dispatch: d.dispatch })),
        ),
      );
    } catch (err) {
      this.log.warn(
        { err: String(err), count: dispatches.length },
        'could not remove cancelled jobs from their queues',
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await this.task.idle();
  }
}
