import type { DataSource, EntityManager } from 'typeorm';
import type { AppConfig } from '../../config/config';
import type { JobState } from '../../core/states';
import { GroupCommit, type Settled } from '../../db/group-commit';
import type { JobAttemptsRepository } from '../../repositories/job-attempts.repository';
import type { AttemptKey, AttemptRef, JobsRepository } from '../../repositories/jobs.repository';
import { LIMITS } from '../dag-validation';
import { transitionOf, type DagTransitions } from './dag-transitions';
import type { AfterCommit, Effects } from './effects';
import { runAttemptBatch, type AttemptBatchDeps, type AttemptBatchOutcome } from './attempt-batch';

export type { AttemptRef } from '../../repositories/jobs.repository';

import {
  type BatchItem,
  type BatchResult,
  type Completion,
  type FailOutcome,
  type StartedAttempt,
} from './attempt-rows';

export { completeTransition, type Completion, type FailOutcome, type StartedAttempt } from './attempt-rows';

/**
 * A completion's settle (its DAG's end, decided after commit): started as soon as the batch
 * commits, off the group commit's path so that the next flush need not wait for it, and
 * awaited by the completion's caller before it resolves.
 */
const settling = new WeakMap<Completion, Promise<void>>();

/**
 * The attempt lifecycle: start, lease, progress, complete, fail, requeue. Every change is
 * one transaction with a guarded UPDATE (state, try, dispatch, lease owner), so a
 * duplicate delivery or a stale report changes nothing. Concurrent starts of this process
 * share transactions, and so do its completions (two group commits). The worker-facing methods apply
 * their own after-commit effects; `fail` and `requeue` return theirs (the sweeps merge them).
 */
export class AttemptService {
  /**
   * Starts and completions group-commit apart: a start (what a worker's slot waits for
   * before it runs the job) never waits behind a batch of completions (which count down a
   * fan-in's row), and the two flushes overlap on their own connections. They write no
   * common row: a start its job's row, a completion its job's and its dependents' rows.
   */
  private readonly starts: GroupCommit<BatchItem, BatchResult>;
  private readonly completions: GroupCommit<BatchItem, BatchResult>;
  private readonly batchDeps: AttemptBatchDeps;

  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly jobs: JobsRepository,
    private readonly attempts: JobAttemptsRepository,
    private readonly transitions: DagTransitions,
    private readonly afterCommit: AfterCommit,
    /** Whether a completion may claim its ready dependents itself (fair share off: no QUOTAS_FILE). */
    private readonly directClaims: () => boolean,
  ) {
    this.batchDeps = { attempts, transitions, leaseMs: config.timings.leaseMs, directClaims };
    this.starts = new GroupCommit((items) => this.flushBatch(items), 256, config.groupCommitInFlight);
    this.completions = new GroupCommit((items) => this.flushBatch(items), 256, config.groupCommitInFlight);
  }

  /** How many transactions the starts and completions of this process took, and for how many. */
  get groupCommitStats(): { flushes: number; items: number } {
    const [a, b] = [this.starts.stats, this.completions.stats];
    return { flushes: a.flushes + b.flushes, items: a.items + b.items };
  }

  /** Attempts whose lease ran out (the lease sweep's candidates). */
  async lostLeases(limit: number): Promise<AttemptKey[]> {
    return this.jobs.lostLeases(this.ds, limit);
  }

  /** Attempts ACTIVE longer than their job's expireInSeconds (the expiry sweep's candidates). */
  async expiredAttempts(limit: number): Promise<AttemptKey[]> {
    return this.jobs.expiredAttempts(this.ds, limit);
  }

  /**
   * Take the attempt (guarded: a stale or duplicate delivery gets null) and its lease.
   * Concurrent starts of this process share transactions (the starts' group commit).
   */
  async startAttempt(
    jobId: string,
    tryNumber: number,
    dispatch: number,
    workerId: string,
  ): Promise<StartedAttempt | null> {
    return (await this.starts.submit({
      kind: 'start',
      ref: { jobId, tryNumber, dispatch, workerId },
    })) as StartedAttempt | null;
  }

  /** A dispatch a worker fetched but will not start: the job is claimable again, and dispatched. */
  async releaseDispatch(jobId: string, tryNumber: number, dispatch: number): Promise<boolean> {
    const released = await this.jobs.releaseDispatch(this.ds, jobId, tryNumber, dispatch);
    if (released) await this.afterCommit.apply({ dispatch: true });
    return released;
  }

  /** Extend the lease of a running attempt; false when it is no longer ours. */
  async renewLease(a: AttemptRef): Promise<boolean> {
    return this.jobs.renewLease(this.ds, a, this.config.timings.leaseMs);
  }

  /** What the executor last said of its running attempt (refused when not current). */
  async reportProgress(a: AttemptKey, percent: number, message: string | null): Promise<boolean> {
    const p = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
    return this.jobs.reportProgress(this.ds, a, p, message?.slice(0, 1000) ?? null);
  }

  /**
   * Success: COMPLETED, output stored, dependents counted down; a dependent that became
   * ready is claimed in the same transaction. Group-committed with the other completions
   * of this process: the jobs that became ready and the claimed dispatches
   * of a whole batch come back on one of its completions, and are enqueued once, after
   * commit, before that completion resolves.
   */
  async completeAttempt(a: AttemptRef, output: unknown): Promise<Completion> {
    const outputJson = output === undefined ? null : JSON.stringify(output);
    if (outputJson && Buffer.byteLength(outputJson) > LIMITS.maxOutputBytes) {
      const r = await this.failAttempt(a, `output is ${Buffer.byteLength(outputJson)} bytes; at most 1 MiB`, {
        nonRetryable: true,
      });
      return { accepted: r.accepted, readyJobIds: [], claimed: [], freedKey: false };
    }
    const done = (await this.completions.submit({ kind: 'complete', ref: a, outputJson })) as Completion;
    // The claimed dispatches go to their queues at once, beside the settle (if any): the
    // next job's pick-up does not wait for the settle's read. Resolves after both.
    const [enqueued] = await Promise.allSettled([
      this.afterCommit.apply({ claimed: done.claimed }),
      settling.get(done),
    ]);
    if (enqueued.status === 'rejected') throw enqueued.reason;
    // Under fair share (or with a concurrency key) a completion frees a slot: jobs held back
    // by a limit may be claimable now. The pass runs on its own, not holding the worker's
    // slot: it goes round for as long as completions keep kicking it.
    if (done.readyJobIds.length > done.claimed.length || (done.accepted && (!this.directClaims() || done.freedKey)))
      this.afterCommit.later('dispatch', () => this.afterCommit.apply({ dispatch: true }));
    return done;
  }

  /**
   * One flush of the group commit. A flush of one kind (every flush: starts and completions
   * commit apart) is one statement with no transaction round it, so no BEGIN and COMMIT
   * round trips: the start or completion statement writes its deltas and events itself (a
   * start also activates a DAG still CREATED). What it leaves alone (a completion past an
   * unmarked SLA deadline: its mark and SLA event need more) is flushed again in a transaction.
   * A deadlock retries the flush; any other failure runs the items one by one, so one bad
   * item fails alone.
   */
  private async flushBatch(items: BatchItem[], inTransaction = false): Promise<Array<Settled<BatchResult>>> {
    const solo = !inTransaction && items.every((i) => i.kind === items[0].kind);
    for (let attempt = 1; ; attempt++) {
      let out: AttemptBatchOutcome;
      try {
        out = solo
          ? await this.alone((m) => runAttemptBatch(this.batchDeps, m, items, true))
          : await this.ds.transaction((m) => runAttemptBatch(this.batchDeps, m, items, false));
      } catch (error) {
        if ((error as { code?: string }).code === '40P01' && attempt < 3) continue;
        if (items.length === 1) return [{ ok: false as const, error }];
        const one: Array<Settled<BatchResult>> = [];
        for (const item of items) one.push(...(await this.flushBatch([item], inTransaction)));
        return one;
      }
      // Committed: the DAGs in which jobs ended may be over. Settled beside the next flush
      // (not before it: that read held up every batch); the batch's completions wait for it.
      // A failure here changes nothing of what was committed (the scheduler's compaction
      // settles them).
      if (out.settle.length > 0) {
        const settled = this.transitions.settle(this.ds, out.settle).catch(() => undefined);
        for (const r of out.results) if (r && 'readyJobIds' in r) settling.set(r, settled);
      }
      const settled: Array<Settled<BatchResult>> = out.results.map((value) => ({ ok: true as const, value }));
      if (out.deferred.length > 0) {
        const again = await this.flushBatch(
          out.deferred.map((i) => items[i]),
          true,
        );
        out.deferred.forEach((i, k) => (settled[i] = again[k]));
      }
      return settled;
    }
  }

  /** `fn` on a connection of its own, without a transaction: each statement commits alone. */
  private async alone<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    const qr = this.ds.createQueryRunner();
    try {
      await qr.connect();
      return await fn(qr.manager);
    } finally {
      await qr.release();
    }
  }

  /** A failed attempt reported by its worker; a retry's wake-up is set. */
  async failAttempt(
    a: AttemptKey,
    error: string,
    opts: { nonRetryable?: boolean; expired?: boolean } = {},
  ): Promise<{ accepted: boolean; retryAt: Date | null }> {
    const { accepted, retryAt, effects } = await this.fail(a, error, opts);
    await this.afterCommit.apply(effects);
    return { accepted, retryAt };
  }

  /**
   * A failed attempt: RETRY at the next try after the delay while tries are left (not for
   * non-retryable failures), else FAILED (or EXPIRED) with every descendant SKIPPED.
   * `workerId` null = the scheduler deciding (expiry): no lease-owner check.
   */
  async fail(
    a: AttemptKey,
    error: string,
    opts: { nonRetryable?: boolean; expired?: boolean } = {},
  ): Promise<FailOutcome> {
    const message = error.slice(0, 10_000);
    let unsettled: { tenantId: string; dagId: string } | null = null;
    const out = await this.ds.transaction(async (m): Promise<FailOutcome> => {
      const j = await this.jobs.lockFailing(m, a);
      if (!j) return { accepted: false, retryAt: null, effects: {} };
      await this.jobs.closeAttempt(m, j.id, j.tryNumber, a.dispatch, opts.expired ? 'EXPIRED' : 'FAILED', message);
      const attemptInBudget = j.tryNumber - j.retryBase; // 1-based
      const canRetry = !opts.nonRetryable && attemptInBudget < j.retryLimit + 1;
      if (canRetry) {
        const unit = this.config.timings.retryDelayUnitMs;
        let delayMs = j.retryDelay * unit;
        if (j.retryBackoff) {
          const base = j.retryDelay * 2 ** (attemptInBudget - 1) * unit;
          delayMs = base + Math.random() * base;
        }
        const retryAt = new Date(Date.now() + delayMs);
        await this.jobs.scheduleRetry(m, j.id, retryAt, message);
        await this.transitions.apply(m, j.tenantId, j.dagId, [
          {
            jobId: j.id,
            taskId: j.taskId,
            name: j.name,
            from: 'ACTIVE',
            to: 'RETRY',
            tryNumber: j.tryNumber + 1,
            error: message,
          },
        ]);
        return { accepted: true, retryAt, effects: { wakeAt: [retryAt], dispatch: true } };
      }
      const to: JobState = opts.expired ? 'EXPIRED' : 'FAILED';
      await this.jobs.markFailed(m, j.id, to, message);
      const skipped = await this.jobs.skipDescendants(m, [j.id]);
      const { finished } = await this.transitions.apply(m, j.tenantId, j.dagId, [
        { jobId: j.id, taskId: j.taskId, name: j.name, from: 'ACTIVE', to, tryNumber: j.tryNumber, error: message },
        ...skipped.map((s) => transitionOf(s, 'SKIPPED')),
      ]);
      if (!finished) unsettled = { tenantId: j.tenantId, dagId: j.dagId };
      // A slot freed: jobs held back by a limit may be claimable now.
      return { accepted: true, retryAt: null, effects: { dispatch: true } };
    });
    // A batch committed after this count may have ended the last other open job: settle.
    if (unsettled) await this.transitions.settle(this.ds, [unsettled]);
    return out;
  }

  /** A worker hands back an attempt it cannot finish (`reason`: why); what is ready is dispatched. */
  async requeueAttempt(a: AttemptKey, outcome: 'LOST' | 'HANDED_BACK', reason?: string): Promise<boolean> {
    const effects = await this.requeue(a, outcome, reason);
    if (effects) await this.afterCommit.apply(effects);
    return effects !== null;
  }

  /**
   * The same try goes back to be run again elsewhere (a lost lease, or a worker handing
   * back what it cannot finish): not a failed attempt. Null when the attempt is not current.
   */
  async requeue(a: AttemptKey, outcome: 'LOST' | 'HANDED_BACK', reason?: string): Promise<Effects | null> {
    return this.ds.transaction(async (m) => {
      const r = await this.jobs.requeue(m, a);
      if (!r) return null;
      await this.jobs.closeAttempt(
        m,
        r.id,
        r.tryNumber,
        a.dispatch,
        outcome,
        reason ?? (outcome === 'LOST' ? 'lease expired' : 'handed back by a stopping worker'),
      );
      await this.transitions.apply(m, r.tenantId, r.dagId, [
        {
          jobId: r.id,
          taskId: r.taskId,
          name: r.name,
          from: 'ACTIVE',
          to: 'RETRY',
          tryNumber: r.tryNumber,
          requeued: true,
        },
      ]);
      return { dispatch: true };
    });
  }
}
