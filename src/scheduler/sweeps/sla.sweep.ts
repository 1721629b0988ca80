import type { Services } from '../../services/process-services';
import { sweepSoftMisses } from '../../services/sla-marks';
import type { Sweep } from './sweep';

/**
 * Soft misses emit one event (mark and event in one transaction); a job's hard miss
 * cancels it; the DAG's cancels the rest and fails it. What ends after a deadline is
 * marked by the transition that ends it (sla-marks.ts).
 */
export async function sweepSlas({ ds, jobCommands, afterCommit }: Services): Promise<void> {
  const now = new Date().toISOString();
  await sweepSoftMisses(ds);
  // Each miss is committed before its effects: its running jobs are stopped, its queue entries go.
  for (const j of await jobCommands.jobsPastHardSla())
    await afterCommit.apply(await jobCommands.missJobHardSla(j, now));
  for (const d of await jobCommands.dagsPastHardSla())
    await afterCommit.apply(await jobCommands.missDagHardSla(d, now));
}

export const slaSweep = (s: Services): Sweep => ({ name: 'slas', run: () => sweepSlas(s) });
