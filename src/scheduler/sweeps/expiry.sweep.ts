import type { Services } from '../../services/process-services';
import { mergeEffects, type Effects } from '../../services/engine/effects';
import type { Sweep } from './sweep';

/** Attempts ACTIVE longer than expireInSeconds fail (the last one ends EXPIRED); their workers are told to stop. */
export async function sweepExpired(
  { attempts, afterCommit }: Services,
  limit = 100,
): Promise<Array<{ jobId: string; retryAt: Date | null }>> {
  const out: Array<{ jobId: string; retryAt: Date | null }> = [];
  const effects: Effects[] = [];
  for (const key of await attempts.expiredAttempts(limit)) {
    const res = await attempts.fail(key, 'attempt expired', { expired: true });
    if (!res.accepted) continue;
    out.push({ jobId: key.jobId, retryAt: res.retryAt });
    effects.push(res.effects);
  }
  if (out.length) await afterCommit.apply(mergeEffects(...effects, { cancel: out.map((o) => o.jobId) }));
  return out;
}

export const expirySweep = (s: Services): Sweep => ({
  name: 'expiry',
  run: async () => void (await sweepExpired(s)),
});
