import type { Services } from '../../app/container';
import type { Sweep } from './sweep';

/** Dispatch what is due (startAfter, retry delays) and was not dispatched at once. */
export const dispatchSweep = ({ dispatcher }: Services): Sweep => ({ name: 'dispatch', run: () => dispatcher.kick() });
