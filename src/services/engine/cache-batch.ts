import type { EntityManager } from 'typeorm';
import { computeCacheKey } from '../../core/cache-key';
import type { JobAttemptsRepository } from '../../repositories/job-attempts.repository';
import type { CacheHitCopy, CacheSource, JobCacheRepository, KeyLookup } from '../../repositories/job-cache.repository';
import type { ClaimedDispatch } from '../../repositories/job-dispatch.repository';
import type { ReplayCopy } from '../../repositories/materialization-replay.repository';
import { completeTransition, type AttemptRef, type StartedAttempt } from './attempt.service';
import type { DagTransitions, Transition } from './dag-transitions';

/** Seven days: how old a cached result may be when the policy gives no ttlSeconds. */
export const DEFAULT_CACHE_TTL_SECONDS = 7 * 86_400;

/** Records a batch of hits' materializations again, inside the caller's transaction (the MaterializationService). */
export interface MaterializationReplayer {
  replay(m: EntityManager, copies: ReplayCopy[]): Promise<void>;
}

/** One attempt's look-up, at its start: it has a code version and caching on. */
export interface LookupItem {
  s: StartedAttempt;
  ref: AttemptRef;
  codeVersion: string;
  /** It may wait for another job computing the same key (its waiting time is not over). */
  mayWait: boolean;
}

/**
 * What the look-up decided: a hit (the attempt is CACHED and done; the batch's claimed
 * dependents come back on its first hit), run the executor, wait for the job computing the
 * key now, or nothing (the attempt is no longer current).
 */
export type LookupResult =
  | { kind: 'hit'; key: string; source: CacheSource; claimed: ClaimedDispatch[]; needsDispatch: boolean }
  | { kind: 'run' | 'wait'; key: string }
  | { kind: 'stale'; key: string | null };

/** The attempt was no longer current when its hit was to be written: nothing was. */
export class StaleAttemptError extends Error {
  constructor() {
    super('the attempt is no longer current');
    this.name = 'StaleAttemptError';
  }
}

export interface CacheBatchDeps {
  repo: JobCacheRepository;
  attempts: JobAttemptsRepository;
  transitions: DagTransitions;
  materializations: MaterializationReplayer;
  directClaims: () => boolean;
}

/**
 * A group commit's look-ups in one transaction, in a fixed number of statements (plus one
 * per DAG for its counters and events): the keys (one read of the upstream outputs and
 * versions), their advisory locks in a fixed order, the in-flight check, the sources, the
 * keys stored under each attempt's lease, then every hit written together (materializations
 * recorded again, task state, completions with their dependents, CACHED, DAG counters). Two
 * look-ups of one key in a batch: the second waits for the first's run, or hits the same source.
 */
export async function runLookups(d: CacheBatchDeps, m: EntityManager, items: LookupItem[]): Promise<LookupResult[]> {
  const needInputs = items.filter((i) => !i.s.cache.key);
  const inputs = needInputs.length
    ? await d.repo.inputs(
        m,
        needInputs.map((i) => ({ tenantId: i.s.tenantId, jobId: i.s.jobId })),
      )
    : new Map();
  const lookups: KeyLookup[] = items.map(({ s, codeVersion }) => ({
    tenantId: s.tenantId,
    executor: s.executor,
    key:
      s.cache.key ??
      computeCacheKey({
        executor: s.executor,
        endpoint: s.name,
        codeVersion,
        data: s.data,
        partitionKey: s.partitionKey,
        ...inputs.get(s.jobId)!,
      }),
    ttlSeconds: s.cache.ttlSeconds ?? DEFAULT_CACHE_TTL_SECONDS,
    jobId: s.jobId,
  }));
  const nameOf = (l: KeyLookup) => `${l.tenantId}/${l.executor}/${l.key}`;
  const names = [...new Set(lookups.map(nameOf))].sort();
  await d.repo.lockKeys(m, names);
  // In flight first, then the sources: each statement sees what committed before it, so a
  // job that completes between the two is seen running by the first or finished by the
  // second, never missed by both (test/memo-cache-race.test.ts).
  const busy = await d.repo.inFlight(m, lookups);
  const sources = await d.repo.findSources(m, lookups);

  const results: LookupResult[] = [];
  const runningHere = new Set<string>();
  for (const [x, l] of lookups.entries()) {
    const source = sources[x];
    if (source) results.push({ kind: 'hit', key: l.key, source, claimed: [], needsDispatch: false });
    else if (items[x].mayWait && (busy[x] || runningHere.has(nameOf(l)))) results.push({ kind: 'wait', key: l.key });
    else {
      runningHere.add(nameOf(l));
      results.push({ kind: 'run', key: l.key });
    }
  }

  const keyed = results.flatMap((r, x) =>
    r.kind === 'hit' || r.kind === 'run'
      ? [{ x, a: { ref: items[x].ref, key: r.key, codeVersion: items[x].codeVersion } }]
      : [],
  );
  const current = keyed.length
    ? await d.repo.setKeys(
        m,
        keyed.map((k) => k.a),
      )
    : new Set<string>();
  for (const { x } of keyed) if (!current.has(items[x].s.jobId)) results[x] = { kind: 'stale', key: lookups[x].key };

  const hitAt = results.flatMap((r, x) => (r.kind === 'hit' ? [x] : []));
  if (hitAt.length) await writeHits(d, m, items, results, hitAt);
  return results;
}

/** The batch's hits, written together; throws (rolling back) when one is no longer current. */
async function writeHits(
  d: CacheBatchDeps,
  m: EntityManager,
  items: LookupItem[],
  results: LookupResult[],
  hitAt: number[],
): Promise<void> {
  const hits: CacheHitCopy[] = hitAt.map((x) => {
    const { s, ref } = items[x];
    const r = results[x] as Extract<LookupResult, { kind: 'hit' }>;
    return { ref, tenantId: s.tenantId, dagName: s.dagName, dagId: s.dagId, taskId: s.taskId, source: r.source };
  });
  await d.materializations.replay(
    m,
    hits.map((h) => ({
      tenantId: h.tenantId,
      from: { dagId: h.source.dagId, nodeTaskId: h.source.taskId, tryNumber: h.source.tryNumber },
      to: { jobId: h.ref.jobId, dagId: h.dagId, nodeTaskId: h.taskId, tryNumber: h.ref.tryNumber },
    })),
  );
  await d.repo.copyTaskState(m, hits);
  const { done, counted, claimed } = await d.attempts.completeBatch(
    m,
    hits.map((h) => ({ ref: h.ref, outputJson: h.source.outputJson })),
    d.directClaims(),
    null, // its transitions (cached) are applied below
  );
  if (done.length !== hits.length) throw new StaleAttemptError();
  await d.repo.markCached(m, hits);

  const savedOf = new Map(hits.map((h) => [h.ref.jobId, h.source.runSeconds]));
  const byDag = new Map<string, { tenantId: string; dagId: string; list: Transition[] }>();
  for (const r of done) {
    const k = `${r.tenantId}/${r.dagId}`;
    (byDag.get(k) ?? byDag.set(k, { tenantId: r.tenantId, dagId: r.dagId, list: [] }).get(k)!).list.push({
      ...completeTransition(r),
      cached: { savedSeconds: savedOf.get(r.id) ?? 0 },
    });
  }
  // DAGs in the order the attempt service's group commit locks them.
  const dags = [...byDag.values()].sort((x, y) =>
    x.tenantId === y.tenantId ? x.dagId.localeCompare(y.dagId) : x.tenantId.localeCompare(y.tenantId),
  );
  for (const g of dags) await d.transitions.apply(m, g.tenantId, g.dagId, g.list);
  // What became ready goes back once, on the first hit, to be enqueued once.
  const ready = counted.filter((x) => x.pendingDeps === 0 && (x.state === 'CREATED' || x.state === 'RETRY'));
  const first = results[hitAt[0]] as Extract<LookupResult, { kind: 'hit' }>;
  first.claimed = claimed;
  // A dispatch pass is due when something ready was not claimed here, or when a job with a
  // concurrency key finished (its key has a free slot now).
  first.needsDispatch = ready.length > claimed.length || done.some((r) => r.keyed);
}
