import type { DataSource, EntityManager } from 'typeorm';
import { computeCacheKey } from '../../core/cache-key';
import { badInput } from '../../errors/domain-error';
import type { JobAttemptsRepository } from '../../repositories/job-attempts.repository';
import type { CacheSource, JobCacheRepository, SourceMaterialization } from '../../repositories/job-cache.repository';
import type { AttemptRef } from '../../repositories/jobs.repository';
import type { RecordMaterializationsArgs } from '../assets/record-materializations.input';
import type { StartedAttempt } from './attempt.service';
import type { DagTransitions } from './dag-transitions';
import type { AfterCommit } from './effects';

/** Seven days: how old a cached result may be when the policy gives no ttlSeconds. */
export const DEFAULT_CACHE_TTL_SECONDS = 7 * 86_400;

/** Records materializations inside the caller's transaction (the MaterializationService). */
export interface MaterializationRecorder {
  record(tenantId: string, input: RecordMaterializationsArgs, opts: { manager?: EntityManager }): Promise<unknown>;
}

/** What the look-up decided: a hit (the attempt is CACHED and done), or run the executor. */
export interface CacheDecision {
  hit: boolean;
  key: string | null;
  /** The attempt is no longer current (cancelled, lease lost): nothing more to do. */
  stale?: boolean;
}

/** This process's cache hits and the executor seconds they saved (the Prometheus counters). */
export interface CacheStats {
  hits: number;
  savedSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Memoised execution (DESIGN.md "Memoised execution"): at an attempt's start, the cache
 * key from the executor, its code version, the job's data and its upstream nodes'
 * materializations and outputs; a hit ends the attempt CACHED in one transaction (output,
 * materializations, task state, dependents, counters), guarded like any completion. Look-ups
 * of one key are serialised (an advisory lock), and a key another job is computing now is
 * waited for, so two identical jobs at once run once: the other hits.
 */
export class CacheService {
  readonly stats: CacheStats = { hits: 0, savedSeconds: 0 };

  constructor(
    private readonly ds: DataSource,
    private readonly repo: JobCacheRepository,
    private readonly attempts: JobAttemptsRepository,
    private readonly transitions: DagTransitions,
    private readonly afterCommit: AfterCommit,
    private readonly materializations: MaterializationRecorder,
    /** Whether a hit may claim its ready dependents itself (fair share off: no QUOTAS_FILE). */
    private readonly directClaims: () => boolean,
  ) {}

  /** The job's cache key, or null when it never hits (caching off, or no code version). */
  async keyOf(s: StartedAttempt, codeVersion: string | null): Promise<string | null> {
    if (!s.cache.enabled || codeVersion == null) return null;
    if (s.cache.key) return s.cache.key;
    const inputs = await this.repo.inputs(this.ds, s.tenantId, s.jobId);
    return computeCacheKey({
      executor: s.executor,
      endpoint: s.name,
      codeVersion,
      data: s.data,
      partitionKey: s.partitionKey,
      ...inputs,
    });
  }

  /**
   * Before the executor is called: a hit completes the attempt from the cache; else the
   * key is stored on the job (the attempt computes it) and the executor runs. While another
   * job computes the same key, waits (polling every `pollMs`, at most `waitMs`) for its result.
   */
  async lookup(
    s: StartedAttempt,
    ref: AttemptRef,
    codeVersion: string | null,
    opts: { waitMs: number; pollMs?: number; signal?: AbortSignal },
  ): Promise<CacheDecision> {
    const key = await this.keyOf(s, codeVersion);
    if (key == null) return { hit: false, key: null };
    const ttl = s.cache.ttlSeconds ?? DEFAULT_CACHE_TTL_SECONDS;
    const deadline = Date.now() + opts.waitMs;
    for (let attempt = 1; ; attempt++) {
      const mayWait = Date.now() < deadline && !opts.signal?.aborted;
      let outcome:
        | { kind: 'hit'; source: CacheSource; claimed: Awaited<ReturnType<CacheService['hit']>> }
        | {
            kind: 'run' | 'wait' | 'stale';
          };
      try {
        outcome = await this.ds.transaction(async (m) => {
          await this.repo.lockKey(m, s.tenantId, s.executor, key);
          const source = await this.repo.findSource(m, s.tenantId, s.executor, key, ttl, s.jobId);
          if (source)
            return { kind: 'hit' as const, source, claimed: await this.hit(m, s, ref, key, codeVersion, source) };
          if (mayWait && (await this.repo.inFlight(m, s.tenantId, s.executor, key, s.jobId)))
            return { kind: 'wait' as const };
          return { kind: (await this.repo.setKey(m, ref, key, codeVersion)) ? ('run' as const) : ('stale' as const) };
        });
      } catch (err) {
        if ((err as { code?: string }).code === '40P01' && attempt < 5) continue;
        if (err instanceof StaleAttemptError) return { hit: false, key, stale: true };
        throw err;
      }
      if (outcome.kind === 'hit') {
        const { claimed, readyJobIds, freedKey } = outcome.claimed;
        this.stats.hits += 1;
        this.stats.savedSeconds += outcome.source.runSeconds;
        // Under fair share (or with a concurrency key) a hit frees a slot too: jobs held back
        // by a limit may be claimable now (a pass of its own, as after a completion).
        await this.afterCommit.apply({ claimed });
        if (readyJobIds.length > claimed.length || !this.directClaims() || freedKey)
          this.afterCommit.later('dispatch', () => this.afterCommit.apply({ dispatch: true }));
        return { hit: true, key };
      }
      if (outcome.kind === 'stale') return { hit: false, key, stale: true };
      if (outcome.kind !== 'wait') return { hit: false, key };
      await sleep(opts.pollMs ?? 200);
    }
  }

  /** The hit, in the look-up's transaction; throws (rolling back) when the attempt is no longer current. */
  private async hit(
    m: EntityManager,
    s: StartedAttempt,
    ref: AttemptRef,
    key: string,
    codeVersion: string | null,
    source: CacheSource,
  ) {
    if (!(await this.repo.setKey(m, ref, key, codeVersion))) throw new StaleAttemptError();
    const mats = await this.repo.sourceMaterializations(m, s.tenantId, source);
    for (const group of groupByUpstream(mats)) {
      await this.materializations.record(
        s.tenantId,
        {
          jobId: s.jobId,
          tryNumber: s.tryNumber,
          dagId: s.dagId,
          nodeTaskId: s.taskId,
          partitionKey: s.partitionKey,
          assets: group.map((x) => ({
            assetKey: x.assetKey,
            version: x.version,
            partitionKey: x.partitionKey,
            kind: x.kind,
            sizeBytes: x.sizeBytes,
            checksum: x.checksum,
            uri: x.uri,
            metadata: x.metadata,
            codeFingerprint: x.codeFingerprint,
            promptFingerprint: x.promptFingerprint,
          })),
          upstreamAssets: group[0].upstream,
        },
        { manager: m },
      );
    }
    await this.repo.copyTaskState(m, s.tenantId, source, {
      dagName: s.dagName,
      dagId: s.dagId,
      taskId: s.taskId,
      tryNumber: s.tryNumber,
    });
    const { done, counted, claimed } = await this.attempts.completeBatch(
      m,
      [{ ref, outputJson: source.outputJson }],
      this.directClaims(),
    );
    if (done.length === 0) throw new StaleAttemptError();
    await this.repo.markCached(m, ref, source);
    const d = done[0];
    await this.transitions.apply(m, s.tenantId, s.dagId, [
      {
        jobId: d.id,
        taskId: d.taskId,
        name: d.name,
        from: 'ACTIVE',
        to: 'COMPLETED',
        tryNumber: d.tryNumber,
        progressPercent: 100,
        cached: { savedSeconds: source.runSeconds },
      },
    ]);
    const readyJobIds = counted
      .filter((x) => x.pendingDeps === 0 && (x.state === 'CREATED' || x.state === 'RETRY'))
      .map((x) => x.id);
    return { claimed, readyJobIds, freedKey: d.keyed };
  }

  /** `invalidateCache`: the tenant's keys of an executor (one code version, or all) are forgotten. */
  async invalidate(tenantId: string, executor: string, codeVersion: string | null): Promise<number> {
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(executor)) throw badInput('executor', 'must match [A-Za-z0-9_.-]{1,128}');
    if (codeVersion != null && (codeVersion.length < 1 || codeVersion.length > 128))
      throw badInput('codeVersion', 'must be 1 to 128 characters');
    return this.repo.invalidate(this.ds, tenantId, executor, codeVersion);
  }
}

/** The attempt was no longer current when its hit was to be written: nothing was. */
export class StaleAttemptError extends Error {
  constructor() {
    super('the attempt is no longer current');
    this.name = 'StaleAttemptError';
  }
}

/** Materializations grouped by their upstream refs (one recording per group). */
function groupByUpstream(mats: SourceMaterialization[]): SourceMaterialization[][] {
  const by = new Map<string, SourceMaterialization[]>();
  for (const x of mats) {
    const k = JSON.stringify(x.upstream);
    (by.get(k) ?? by.set(k, []).get(k)!).push(x);
  }
  return [...by.values()];
}
