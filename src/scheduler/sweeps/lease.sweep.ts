import type { Services } from '../../services/process-services';
import type { Effects } from '../../services/engine/effects';
import { mergeEffects } from '../../services/engine/effects';
import type { Sweep } from './sweep';

/** Leases that ran out: the same try goes back to run elsewhere. Returns how many. */
export async function sweepLostLeases({ attempts, afterCommit }: Services, limit = 100): Promise<number> {
  const effects: Effects[] = [];
  for (const key of await attempts.lostLeases(limit)) {
    const e = await attempts.requeue(key, 'LOST');
    if (e) effects.push(e);
  }
  if (effects.length) await afterCommit.apply(mergeEffects(...effects));
  return effects.length;
}

export const leaseSweep = (s: Services): Sweep => ({
  name: 'lost-leases',
  run: async () => void (await sweepLostLeases(s)),
});
