/// <reference lib="webworker" />
import ELK from 'elkjs/lib/elk.bundled.js';
import type { LayoutRequest, LayoutResponse } from './layout-types';

// ELK's layered layout, off the main thread: nodes placed in layers by their level
// (longest path from a root, as the engine's jobLevel), edges routed between them.
const elk = new ELK();
const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = async (ev: MessageEvent<LayoutRequest>) => {
  const req = ev.data;
  const started = performance.now();
  const partitioned = req.nodes.some((n) => n.level !== undefined);
  try {
    const graph = await elk.layout({
      id: 'root',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': req.direction,
        'elk.layered.layering.strategy': 'LONGEST_PATH_SOURCE',
        'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
        'elk.edgeRouting': 'POLYLINE',
        'elk.spacing.nodeNode': '18',
        'elk.layered.spacing.nodeNodeBetweenLayers': '60',
        'elk.layered.thoroughness': req.nodes.length > 400 ? '1' : '7',
        // Groups of a big DAG have no edges between them: their level places them.
        // (and components are not laid out apart, else each lone group is a graph of its own).
        'elk.partitioning.activate': String(partitioned),
        'elk.separateConnectedComponents': String(!partitioned),
      },
      children: req.nodes.map((n) => ({
        id: n.id,
        width: n.width,
        height: n.height,
        layoutOptions: n.level === undefined ? undefined : { 'elk.partitioning.partition': String(n.level) },
      })),
      edges: req.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
    });
    const positions: LayoutResponse['positions'] = {};
    for (const c of graph.children ?? []) positions[c.id] = { x: c.x ?? 0, y: c.y ?? 0 };
    scope.postMessage({ id: req.id, positions, ms: performance.now() - started } satisfies LayoutResponse);
  } catch (err) {
    scope.postMessage({ id: req.id, positions: {}, ms: 0, error: String(err) } satisfies LayoutResponse);
  }
};
