import { graphChangesPrune } from '../../services/assets/graph-changes-prune';
import type { Services } from '../../services/process-services';
import type { Sweep } from './sweep';

/** Rows of `asset_graph_changes` that no lineage copy's check can need any more go. */
export const graphChangesSweep = ({ ds }: Services): Sweep => {
  const prune = graphChangesPrune(ds);
  return { name: 'prune-asset-graph-changes', run: async () => void (await prune.run()) };
};
