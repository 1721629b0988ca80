import type { Services } from '../../services/process-services';
import type { Sweep } from './sweep';

/** Dispatches Redis lost (or a worker took and never started): enqueued again as the next dispatch. */
export const redispatchSweep = ({ dispatcher }: Services): Sweep => ({
  name: 'redispatch-stale',
  run: async () => void (await dispatcher.redispatchStale()),
});
