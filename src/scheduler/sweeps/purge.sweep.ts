import type { Services } from '../../services/process-services';
import type { Sweep } from './sweep';

/** Finished DAGs past their keepUntil (or the retention) are deleted; materializations stay. */
export const purgeSweep = ({ jobCommands }: Services): Sweep => ({
  name: 'purge',
  run: async () => void (await jobCommands.purgeEnded()),
});
