import type { Services } from '../../services/process-services';
import type { Sweep } from './sweep';

/**
 * Group-committed batches add their DAG counter deltas to dag_progress_deltas instead of
 * writing the DAG row; this folds them into the rows (reads sum what is left) and settles
 * each DAG on the way: a worker that died between a batch's commit and its settle leaves
 * a DAG with nothing open and not finished, which this finishes.
 */
export const progressSweep = ({ jobCommands }: Services): Sweep => ({
  name: 'progress',
  run: async () => void (await jobCommands.compactProgress()),
});
