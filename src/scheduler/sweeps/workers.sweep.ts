import type { Services } from '../../services/process-services';
import type { Sweep } from './sweep';

/** Workers silent for ten stale periods leave the fleet. */
export const workersSweep = ({ fleet }: Services): Sweep => ({
  name: 'forget-silent-workers',
  run: async () => void (await fleet.forgetSilent()),
});
