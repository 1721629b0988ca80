import { Background, Controls, Handle, Position, ReactFlow, type Edge, type Node, type NodeProps } from '@xyflow/react';
import { memo, useCallback, useEffect, useMemo, useState } from 'react';
import { LineageDoc } from '../graphql/asset-documents';
import type { LineageQuery } from '../graphql/generated/graphql';
import { layout } from '../lib/layout';
import { assetPath, lineagePath, Link, navigate } from '../lib/router';
import { useSession } from '../lib/session-context';

type LNode = LineageQuery['lineage']['nodes'][number];
type LData = { node: LNode; beyond: number; root: boolean; expanded: boolean };
type LNodeT = Node<LData, 'asset'>;

const W = 190;
const H = 58;

const AssetNode = memo(function AssetNode({ data }: NodeProps<LNodeT>) {
  const stale = data.node.asset?.latest?.isStale;
  return (
    <div
      className={`asset-node${data.root ? ' root' : ''}${stale ? ' stale' : ''}`}
      data-asset={data.node.assetKey}
      data-beyond={data.beyond}
      title={data.expanded ? data.node.assetKey : `${data.node.assetKey}: click to expand`}
    >
      <Handle type="target" position={Position.Left} />
      <strong>{data.node.assetKey}</strong>
      <span className="meta">
        {data.node.asset?.kind ?? ''} {stale && <span className="badge stale">stale</span>}
        {data.beyond > 0 && <span className="beyond"> +{data.beyond} beyond</span>}
      </span>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});
const nodeTypes = { asset: AssetNode };

interface Explored {
  nodes: Map<string, LNode>;
  edges: Map<string, { fromAssetKey: string; toAssetKey: string }>;
  expanded: Set<string>;
  truncated: boolean;
  /** Every node within depth 2 of the centre, and where its next page starts (null: none). */
  totalNodes: number;
  next: string | null;
}

/** Nodes per page of `lineage` (the server pages them by distance, then key). */
const PAGE = 100;

/**
 * The lineage explorer: centred on an asset, depth 2 both ways from `lineage`; a click on
 * a node fetches its own neighbourhood and merges it. Stale assets are marked; "+N beyond"
 * counts the neighbours of a node not drawn yet.
 */
export function Lineage({ assetKey }: { assetKey: string }) {
  const { api } = useSession();
  const [explored, setExplored] = useState<Explored | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [positions, setPositions] = useState<Record<string, { x: number; y: number }> | null>(null);

  /** Merge a page of `key`'s neighbourhood: the centre's (`reset`), its next page, or a clicked node's. */
  const expand = useCallback(
    async (key: string, depth: number, mode: 'reset' | 'more' | 'node', after?: string) => {
      try {
        const { lineage } = await api.request(LineageDoc, { key, depth, direction: 'BOTH', first: PAGE, after });
        setExplored((prev) => {
          const base: Explored =
            mode === 'reset' || !prev
              ? { nodes: new Map(), edges: new Map(), expanded: new Set(), truncated: false, totalNodes: 0, next: null }
              : prev;
          const next: Explored = {
            nodes: new Map(base.nodes),
            edges: new Map(base.edges),
            expanded: mode === 'more' ? base.expanded : new Set(base.expanded).add(key),
            truncated: mode === 'node' ? base.truncated : lineage.truncated,
            totalNodes: mode === 'node' ? base.totalNodes : lineage.totalNodes,
            next:
              mode === 'node' ? base.next : lineage.pageInfo.hasNextPage ? (lineage.pageInfo.endCursor ?? null) : null,
          };
          for (const n of lineage.nodes) if (!next.nodes.has(n.assetKey)) next.nodes.set(n.assetKey, n);
          for (const e of lineage.edges) next.edges.set(`${e.fromAssetKey}->${e.toAssetKey}`, e);
          return next;
        });
        setError(null);
      } catch (err) {
        setError((err as Error).message);
      }
    },
    [api],
  );

  useEffect(() => {
    if (assetKey) void expand(assetKey, 2, 'reset');
  }, [assetKey, expand]);

  const structure = explored ? `${explored.nodes.size}:${explored.edges.size}` : '';
  useEffect(() => {
    if (!explored) return;
    let live = true;
    void layout({
      direction: 'RIGHT',
      nodes: [...explored.nodes.keys()].map((k) => ({ id: k, width: W, height: H })),
      edges: [...explored.edges.entries()].map(([id, e]) => ({ id, source: e.fromAssetKey, target: e.toAssetKey })),
    }).then((r) => live && setPositions(r.positions));
    return () => {
      live = false;
    };
    // Laid out again only when nodes or edges were added.
  }, [structure]);

  const nodes = useMemo<LNodeT[]>(() => {
    if (!explored || !positions) return [];
    return [...explored.nodes.values()].map((n) => {
      const around = [...(n.asset?.upstream ?? []), ...(n.asset?.downstream ?? [])].map((a) => a.key);
      const beyond = new Set(around.filter((k) => !explored.nodes.has(k))).size;
      return {
        id: n.assetKey,
        type: 'asset',
        position: positions[n.assetKey] ?? { x: 0, y: 0 },
        data: { node: n, beyond, root: n.assetKey === assetKey, expanded: explored.expanded.has(n.assetKey) },
      };
    });
  }, [explored, positions, assetKey]);
  const edges = useMemo<Edge[]>(
    () =>
      explored
        ? [...explored.edges.entries()].map(([id, e]) => ({ id, source: e.fromAssetKey, target: e.toAssetKey }))
        : [],
    [explored],
  );

  return (
    <section className="lineage">
      <h1>Lineage {assetKey && <Link to={assetPath(assetKey)}>{assetKey}</Link>}</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const v = new FormData(e.currentTarget).get('key');
          if (typeof v === 'string' && v.trim()) navigate(lineagePath(v.trim()));
        }}
      >
        <input name="key" aria-label="Asset key" placeholder="asset key, e.g. ocr/text" defaultValue={assetKey} />
        <button type="submit">Explore</button>
        {explored && (
          <span className="count" data-testid="lineage-count" data-shown={explored.nodes.size}>
            {explored.nodes.size} assets shown; {explored.totalNodes} within depth 2 of the centre
            {explored.truncated ? ', more beyond' : ''}
          </span>
        )}
        {explored?.next && (
          <button type="button" onClick={() => void expand(assetKey, 2, 'more', explored.next ?? undefined)}>
            Next {PAGE}
          </button>
        )}
      </form>
      {error && <p className="error">{error}</p>}
      {!assetKey && <p className="sub">Pick an asset to centre the graph on.</p>}
      {explored && positions && (
        <div className="graph" data-testid="lineage-graph">
          <ReactFlow
            key={assetKey}
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            fitView
            fitViewOptions={{ maxZoom: 1 }}
            minZoom={0.05}
            nodesDraggable={false}
            nodesConnectable={false}
            onNodeClick={(_e, n) => void expand(n.id, 1, 'node')}
          >
            <Background />
            <Controls showInteractive={false} />
          </ReactFlow>
        </div>
      )}
    </section>
  );
}
