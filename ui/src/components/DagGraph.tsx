import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import { memo, useEffect, useMemo, useState } from 'react';
import type { DrawnGraph, GroupUnit, JobUnit, MoreUnit } from '../lib/dag-graph';
import { layout } from '../lib/layout';

const JOB_W = 170;
const JOB_H = 54;
const GROUP_W = 220;
const GROUP_H = 78;
const COUNTS = ['completed', 'cached', 'active', 'pending', 'failed', 'skipped'] as const;

type JobNodeT = Node<{ unit: JobUnit }, 'job'>;
// Not 'group': React Flow styles its own group nodes under that name.
type GroupNodeT = Node<{ unit: GroupUnit }, 'jobgroup'>;
type MoreNodeT = Node<{ unit: MoreUnit }, 'more'>;

const JobNode = memo(function JobNode({ data, selected }: NodeProps<JobNodeT>) {
  const j = data.unit.job;
  const pct = j.state === 'ACTIVE' && j.progressPercent != null ? `${Math.round(j.progressPercent)}%` : '';
  // Completed from the cache (no executor call): drawn apart from a job that ran.
  const cached = j.state === 'COMPLETED' && j.attempts?.at(-1)?.outcome === 'CACHED';
  return (
    <div
      className={`job-node state-${j.state.toLowerCase()}${cached ? ' cached' : ''}${selected ? ' selected' : ''}`}
      data-task={j.taskId}
      data-state={j.state}
      data-cached={cached || undefined}
      title={`${j.taskId} · ${cached ? 'cached' : j.state.toLowerCase()} · try ${j.tryNumber}`}
    >
      <Handle type="target" position={Position.Left} />
      <strong>{j.taskId}</strong>
      <span className="meta">
        {cached ? <b className="badge-cached">cached</b> : j.state.toLowerCase()} {pct && <b>{pct}</b>} · try{' '}
        {j.tryNumber}
      </span>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const GroupNode = memo(function GroupNode({ data }: NodeProps<GroupNodeT>) {
  const { level, executor, progress } = data.unit.group;
  return (
    <div className="group-node" data-group={data.unit.id} data-total={progress.total} title="Click to open">
      <Handle type="target" position={Position.Left} />
      <strong>
        level {level} · {executor}
      </strong>
      <span className="meta">{progress.total} jobs</span>
      <span className="counts">
        {COUNTS.filter((c) => progress[c]).map((c) => (
          <span key={c} className={`count state-${c}`} data-count={c}>
            {progress[c]} {c}
          </span>
        ))}
      </span>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const MoreNode = memo(function MoreNode({ data }: NodeProps<MoreNodeT>) {
  return (
    <div className="group-node more" data-more={data.unit.groupId} title="Click to load more">
      <Handle type="target" position={Position.Left} />
      <strong>{data.unit.remaining} more</strong>
      <span className="meta">click to load the next page</span>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const nodeTypes = { job: JobNode, jobgroup: GroupNode, more: MoreNode };
type AnyNode = JobNodeT | GroupNodeT | MoreNodeT;

/**
 * The DAG with @xyflow/react: positions from the layout worker (recomputed only when the
 * drawn structure changes), node data from the live states.
 */
export function DagGraph(props: {
  graph: DrawnGraph;
  selected: string | null;
  onSelectJob(taskId: string): void;
  onOpenGroup(groupId: string): void;
  /** Called when the graph is drawn (after its layout), for the first-paint measure. */
  onPainted?(): void;
}) {
  const { graph } = props;
  const [positions, setPositions] = useState<{ key: string; at: Record<string, { x: number; y: number }> } | null>(
    null,
  );
  const sizeOf = (kind: string) =>
    kind === 'job' ? [JOB_W, JOB_H] : kind === 'group' ? [GROUP_W, GROUP_H] : [GROUP_W, JOB_H];
  const grouped = graph.units.some((u) => u.kind !== 'job');

  useEffect(() => {
    let live = true;
    const key = graph.structureKey;
    void layout({
      direction: 'RIGHT',
      nodes: graph.units.map((u) => {
        const [width, height] = sizeOf(u.kind);
        return { id: u.id, width, height, level: grouped ? u.level : undefined };
      }),
      edges: graph.edges,
    }).then((r) => {
      if (live) setPositions({ key, at: r.positions });
    });
    return () => {
      live = false;
    };
    // The structure key stands for units and edges: a state change does not lay out again.
  }, [graph.structureKey]);

  const nodes = useMemo<AnyNode[]>(() => {
    if (!positions) return [];
    return graph.units.map((u): AnyNode => {
      const position = positions.at[u.id] ?? { x: 0, y: 0 };
      // Each live update hands React Flow new node objects, without the size it measured:
      // with no size to fall back on it hides a node until it measures it again, and a second
      // update before that measure left a node hidden for good. The layout's size stands in.
      const [initialWidth, initialHeight] = sizeOf(u.kind);
      const base = { id: u.id, position, initialWidth, initialHeight };
      if (u.kind === 'job')
        return { ...base, type: 'job', data: { unit: u }, selected: props.selected === u.job.taskId };
      if (u.kind === 'group') return { ...base, type: 'jobgroup', data: { unit: u } };
      return { ...base, type: 'more', data: { unit: u } };
    });
  }, [graph, positions, props.selected]);
  const edges = useMemo<Edge[]>(() => graph.edges.map((e) => ({ ...e, type: 'smoothstep' })), [graph.edges]);

  if (!positions) return <div className="graph loading">Laying out {graph.units.length} nodes…</div>;
  return (
    <div
      className="graph"
      data-testid="dag-graph"
      data-units={graph.units.length}
      data-layout={positions.key === graph.structureKey ? 'done' : 'old'}
    >
      <ReactFlow
        key={positions.key}
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ maxZoom: 1 }}
        minZoom={0.05}
        nodesDraggable={false}
        nodesConnectable={false}
        onlyRenderVisibleElements={graph.units.length > 200}
        onInit={() => props.onPainted?.()}
        onNodeClick={(_e, n: AnyNode) => {
          if (n.type === 'jobgroup') props.onOpenGroup(n.id);
          else if (n.type === 'more') props.onOpenGroup(n.data.unit.groupId);
          else if (n.type === 'job') props.onSelectJob(n.data.unit.job.taskId);
        }}
      >
        <Background />
        <Controls showInteractive={false} />
        {graph.units.length > 50 && <MiniMap pannable zoomable />}
      </ReactFlow>
    </div>
  );
}
