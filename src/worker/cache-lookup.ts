import type { ExecutorInvoker } from '../core/executor-call';
import type { AttemptRef, StartedAttempt } from '../services/engine/attempt.service';
import type { Services } from '../services/process-services';

/**
 * Memoised execution, at an attempt's start: a cache hit completes the attempt (CACHED)
 * and the executor is not called. True when there is nothing left to do (a hit, or the
 * attempt is no longer current). A job computing the same key now is waited for, at most
 * four lease lengths.
 */
export async function fromCache(
  services: Services,
  inv: ExecutorInvoker,
  started: StartedAttempt,
  ref: AttemptRef,
  signal: AbortSignal,
): Promise<boolean> {
  if (!started.cache.enabled) return false;
  const { hit, stale } = await services.cache.lookup(started, ref, inv.codeVersion ?? null, {
    waitMs: services.config.timings.leaseMs * 4,
    signal,
  });
  return hit || stale === true;
}
