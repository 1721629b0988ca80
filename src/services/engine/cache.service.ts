import type { DataSource } from 'typeorm';
import { GroupCommit, type Settled } from '../../db/group-commit';
import { badInput } from '../../errors/domain-error';
import type { JobAttemptsRepository } from '../../repositories/job-attempts.repository';
import type { JobCacheRepository } from '../../repositories/job-cache.repository';
import type { AttemptRef, StartedAttempt } from './attempt.service';
import {
  runLookups,
  StaleAttemptError,
  type CacheBatchDeps,
  type LookupItem,
  type LookupResult,
  type MaterializationReplayer,
} from './cache-batch';
import type { DagTransitions } from './dag-transitions';
import type { AfterCommit } from './effects';

export { DEFAULT_CACHE_TTL_SECONDS, StaleAttemptError, type MaterializationReplayer } from './cache-batch';

/** What the look-up decided: a hit (the attempt is CACHED and done), or run the executor. */
export interface CacheDecision {
  hit: boolean;
  key: string | null;
  /** The attempt is no longer current (cancelled, lease lost): nothing more to do. */
  stale?: boolean;
}

/** Cache hits and the executor seconds they saved (this process's, or the fleet's). */
export interface CacheStats {
  hits: number;
  savedSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Memoised execution (DESIGN.md "Memoised execution"): at an attempt's start, the cache
 * key from the executor, its code version, the job's data and its upstream nodes'
 * materializations and outputs; a hit ends the attempt CACHED (output, materializations,
 * task state, dependents, counters), guarded like any completion. Concurrent look-ups of
 * this process share transactions (group commit, `cache-batch.ts`), so a burst of hits
 * costs a few commits, not one each. Look-ups of one key are serialised (an advisory lock),
 * and a key another job is computing now is waited for, so two identical jobs at once run
 * once: the other hits.
 */
export class CacheService {
  readonly stats: CacheStats = { hits: 0, savedSeconds: 0 };
  private readonly commits: GroupCommit<LookupItem, LookupResult>;
  private readonly deps: CacheBatchDeps;

  constructor(
    private readonly ds: DataSource,
    private readonly repo: JobCacheRepository,
    attempts: JobAttemptsRepository,
    transitions: DagTransitions,
    private readonly afterCommit: AfterCommit,
    materializations: MaterializationReplayer,
    /** Whether a hit may claim its ready dependents itself (fair share off: no QUOTAS_FILE). */
    private readonly directClaims: () => boolean,
  ) {
    this.deps = { repo, attempts, transitions, materializations, directClaims };
    this.commits = new GroupCommit((items) => this.flush(items));
  }

  /** How many transactions the look-ups of this process took, and for how many. */
  get groupCommitStats(): { flushes: number; items: number } {
    return { ...this.commits.stats };
  }

  /**
   * Before the executor is called: a hit completes the attempt from the cache; else the
   * key is stored on the job (the attempt computes it) and the executor runs. While another
   * job computes the same key, waits (polling every `pollMs`, at most `waitMs`) for its result.
   * Caching off, or an executor without a code version: no key, it runs.
   */
  async lookup(
    s: StartedAttempt,
    ref: AttemptRef,
    codeVersion: string | null,
    opts: { waitMs: number; pollMs?: number; signal?: AbortSignal },
  ): Promise<CacheDecision> {
    if (!s.cache.enabled || codeVersion == null) return { hit: false, key: null };
    const deadline = Date.now() + opts.waitMs;
    for (;;) {
      const mayWait = Date.now() < deadline && !opts.signal?.aborted;
      const r = await this.commits.submit({ s, ref, codeVersion, mayWait });
      if (r.kind === 'hit') {
        this.stats.hits += 1;
        this.stats.savedSeconds += r.source.runSeconds;
        // Under fair share (or with a concurrency key) a hit frees a slot too: jobs held back
        // by a limit may be claimable now (a pass of its own, in the background, as after a
        // completion: the worker's slot does not wait for it).
        await this.afterCommit.apply({ claimed: r.claimed });
        if (r.needsDispatch || !this.directClaims())
          this.afterCommit.later('dispatch', () => this.afterCommit.apply({ dispatch: true }));
        return { hit: true, key: r.key };
      }
      if (r.kind === 'stale') return { hit: false, key: r.key, stale: true };
      if (r.kind === 'run') return { hit: false, key: r.key };
      await sleep(opts.pollMs ?? 200);
    }
  }

  /**
   * One flush of the group commit: the look-ups in one transaction. A deadlock retries it;
   * any other failure runs the items one by one, so one bad item fails alone (an attempt no
   * longer current is `stale`).
   */
  private async flush(items: LookupItem[]): Promise<Array<Settled<LookupResult>>> {
    for (let attempt = 1; ; attempt++) {
      try {
        const values = await this.ds.transaction((m) => runLookups(this.deps, m, items));
        return values.map((value) => ({ ok: true as const, value }));
      } catch (error) {
        if ((error as { code?: string }).code === '40P01' && attempt < 5) continue;
        if (items.length === 1)
          return [
            error instanceof StaleAttemptError
              ? { ok: true as const, value: { kind: 'stale' as const, key: null } }
              : { ok: false as const, error },
          ];
        const out: Array<Settled<LookupResult>> = [];
        for (const item of items) out.push(...(await this.flush([item])));
        return out;
      }
    }
  }

  /**
   * The fleet's cache hits and the seconds they saved, as committed by every worker (one
   * row counted in the hits' transactions): what /metrics shows, whichever process serves it.
   */
  async totals(): Promise<CacheStats> {
    return this.repo.totals(this.ds);
  }

  /** `invalidateCache`: the tenant's keys of an executor (one code version, or all) are forgotten. */
  async invalidate(tenantId: string, executor: string, codeVersion: string | null): Promise<number> {
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(executor)) throw badInput('executor', 'must match [A-Za-z0-9_.-]{1,128}');
    if (codeVersion != null && (codeVersion.length < 1 || codeVersion.length > 128))
      throw badInput('codeVersion', 'must be 1 to 128 characters');
    return this.repo.invalidate(this.ds, tenantId, executor, codeVersion);
  }
}
