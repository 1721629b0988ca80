import type { Services } from '../../services/process-services';
import type { Sweep } from './sweep';

/** Dispatch what is due (startAfter, retry delays) and was not dispatched at once. */
export const dispatchSweep = ({ dispatcher }: Services): Sweep => ({ name: 'dispatch', run: () => dispatcher.kick() });
