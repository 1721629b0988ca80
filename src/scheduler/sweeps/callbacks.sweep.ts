import type { Services } from '../../services/process-services';
import type { Sweep } from './sweep';

/** Completion callbacks that are due: sent, retried with backoff. */
export const callbacksSweep = ({ callbacks }: Services): Sweep => ({
  name: 'callbacks',
  run: async () => void (await callbacks.sweep()),
});
