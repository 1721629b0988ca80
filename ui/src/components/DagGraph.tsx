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
import type { DrawnGraph, GroupUnit, JobUnit } from '../lib/dag-graph';
import { layout } from '../lib/layout';

const JOB_W = 170;
const JOB_H = 54;
const GROUP_W = 220;
const GROUP_H = 78;
const STATE_ORDER = ['COMPLETED', 'ACTIVE', 'RETRY', 'CREATED', 'FAILED', 'EXPIRED', 'CANCELLED', 'SKIPPED'];

type JobNodeT = Node<{ unit: JobUnit }, 'job'>;
type GroupNodeT = Node<{ unit: GroupUnit }, 'group'>;

const JobNode = memo(function JobNode({ data, selected }: NodeProps<JobNodeT>) {
  const j = data.unit.job;
  const pct = j.state === 'ACTIVE' && j.progressPercent != null ? `${Math.round(j.progressPercent)}%` : '';
  return (
    <div
      className={`job-node state-${j.state.toLowerCase()}${selected ? ' selected' : ''}`}
      data-task={j.taskId}
      data-state={j.state}
      title={`${j.taskId} · ${j.state.toLowerCase()} · try ${j.tryNumber}`}
    >
      <Handle type="target" position={Position.Left} />
      <strong>{j.taskId}</strong>
      <span className="meta">
        {j.state.toLowerCase()} {pct && <b>{pct}</b>} · try {j.tryNumber}
      </span>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const GroupNode = memo(function GroupNode({ data }: NodeProps<GroupNodeT>) {
  const g = data.unit;
  return (
    <div className="group-node" data-group={g.id} title="Click to expand">
      <Handle type="target" position={Position.Left} />
      <strong>
        level {g.level} · {g.executor}
      </strong>
      <span className="meta">{g.total} jobs</span>
      <span className="counts">
        {STATE_ORDER.filter((s) => g.counts[s]).map((s) => (
          <span key={s} className={`count state-${s.toLowerCase()}`}>
            {g.counts[s]} {s.toLowerCase()}
          </span>
        ))}
      </span>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const nodeTypes = { job: JobNode, group: GroupNode };

/**
 * The DAG with @xyflow/react: positions from the layout worker (recomputed only when the
 * drawn structure changes), node data from the live states.
 */
export function DagGraph(props: {
  graph: DrawnGraph;
  selected: string | null;
  onSelectJob(taskId: string): void;
  onExpandGroup(groupId: string): void;
}) {
  const { graph } = props;
  const [positions, setPositions] = useState<{ key: string; at: Record<string, { x: number; y: number }> } | null>(
    null,
  );
  const sizeOf = (kind: string) => (kind === 'group' ? [GROUP_W, GROUP_H] : [JOB_W, JOB_H]);

  useEffect(() => {
    let live = true;
    const key = graph.structureKey;
    void layout({
      direction: 'RIGHT',
      nodes: graph.units.map((u) => {
        const [width, height] = sizeOf(u.kind);
        return { id: u.id, width, height };
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

  const nodes = useMemo<Array<JobNodeT | GroupNodeT>>(() => {
    if (!positions) return [];
    return graph.units.map((u) => {
      const position = positions.at[u.id] ?? { x: 0, y: 0 };
      return u.kind === 'job'
        ? { id: u.id, type: 'job', position, data: { unit: u }, selected: props.selected === u.job.taskId }
        : { id: u.id, type: 'group', position, data: { unit: u } };
    });
  }, [graph, positions, props.selected]);
  const edges = useMemo<Edge[]>(() => graph.edges.map((e) => ({ ...e, type: 'smoothstep' })), [graph.edges]);

  if (!positions) return <div className="graph loading">Laying out {graph.units.length} nodes…</div>;
  return (
    <div className="graph" data-testid="dag-graph" data-layout={positions.key === graph.structureKey ? 'done' : 'old'}>
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
        onNodeClick={(_e, n) => {
          if (n.type === 'group') props.onExpandGroup(n.id);
          else props.onSelectJob(n.data.unit.job.taskId);
        }}
      >
        <Background />
        <Controls showInteractive={false} />
        {graph.units.length > 50 && <MiniMap pannable zoomable />}
      </ReactFlow>
    </div>
  );
}
