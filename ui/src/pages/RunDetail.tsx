import { useEffect, useMemo, useRef, useState } from 'react';
import { ProgressBar, SlaBadge, StateBadge } from '../components/Badges';
import { DagGraph } from '../components/DagGraph';
import { NodePanel } from '../components/NodePanel';
import { CancelDagDoc, DagStatusDoc, JobStatusDoc, RunDetailDoc } from '../graphql/documents';
import { COLLAPSE_ABOVE, drawnGraph, type GraphJob } from '../lib/dag-graph';
import { duration, when } from '../lib/format';
import { useCan, useSession } from '../lib/session-context';
import { useQuery } from '../lib/use-query';

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];

interface Live {
  state: string;
  tryNumber: number;
  progressPercent?: number | null;
}

/**
 * One DAG run: its graph (collapsed by level and executor above COLLAPSE_ABOVE jobs), live
 * through jobStatusChanged and dagStatusChanged from the eventCursor read with it, and
 * the selected job's panel.
 */
export function RunDetail({ dagId }: { dagId: string }) {
  const { api } = useSession();
  const canCancel = useCan('dag.cancel');
  const q = useQuery(RunDetailDoc, { id: dagId });
  const [live, setLive] = useState<Map<string, Live>>(() => new Map());
  const [selected, setSelected] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<boolean | null>(null);
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set());
  const jobCursor = useRef<string | null>(null);
  const dagCursor = useRef<string | null>(null);
  const { setData } = q;
  const dag = q.data?.dag;
  const startCursor = q.data?.eventCursor ?? null;

  useEffect(() => {
    if (!startCursor) return;
    jobCursor.current ??= startCursor;
    dagCursor.current ??= startCursor;
    const offJobs = api.subscribe(
      JobStatusDoc,
      () => ({ dagId, after: jobCursor.current }),
      ({ jobStatusChanged: e }) => {
        jobCursor.current = e.cursor;
        setLive((prev) => {
          const next = new Map(prev);
          next.set(e.taskId, { state: e.state, tryNumber: e.tryNumber, progressPercent: e.progressPercent });
          return next;
        });
        performance.mark(`job-event:${e.taskId}:${e.state}`);
      },
    );
    const offDag = api.subscribe(
      DagStatusDoc,
      () => ({ dagId, after: dagCursor.current }),
      ({ dagStatusChanged: e }) => {
        dagCursor.current = e.cursor;
        setData((prev) =>
          prev?.dag ? { ...prev, dag: { ...prev.dag, ...(e.dag ?? {}), state: e.state, progress: e.progress } } : prev,
        );
      },
    );
    return () => {
      offJobs();
      offDag();
    };
  }, [api, dagId, startCursor, setData]);

  const jobs = useMemo<GraphJob[]>(
    () =>
      (dag?.jobs ?? []).map((j) => {
        const l = live.get(j.taskId);
        return {
          taskId: j.taskId,
          executor: j.executor,
          jobLevel: j.jobLevel,
          state: l?.state ?? j.state,
          tryNumber: l?.tryNumber ?? j.tryNumber,
          progressPercent: l ? l.progressPercent : j.progressPercent,
          dependencies: j.dependencies.map((d) => d.taskId),
        };
      }),
    [dag?.jobs, live],
  );
  const isCollapsed = collapsed ?? jobs.length > COLLAPSE_ABOVE;
  const graph = useMemo(() => drawnGraph(jobs, isCollapsed, expanded), [jobs, isCollapsed, expanded]);

  if (q.error) return <p className="error">{q.error}</p>;
  if (!q.data) return <p className="loading">Loading…</p>;
  if (!dag) return <p className="error">No DAG {dagId} in this tenant.</p>;
  const selectedJob = selected ? jobs.find((j) => j.taskId === selected) : undefined;
  return (
    <section className="run-detail">
      <header className="run-head">
        <h1>
          {dag.name} <StateBadge state={dag.state} /> <SlaBadge status={dag.slaStatus} />
        </h1>
        <p className="sub">
          {dag.id} · created {when(dag.createdAt)} · ran {duration(dag.startedAt, dag.completedAt)}
          {dag.submittedBy ? ` · by ${dag.submittedBy}` : ''}
        </p>
        <ProgressBar p={dag.progress} />
        <div className="actions">
          {jobs.length > COLLAPSE_ABOVE && (
            <button type="button" onClick={() => setCollapsed(!isCollapsed)}>
              {isCollapsed ? 'Show every job' : 'Group by level and executor'}
            </button>
          )}
          {canCancel && !TERMINAL.includes(dag.state) && (
            <button type="button" onClick={() => void api.request(CancelDagDoc, { id: dag.id }).then(() => q.reload())}>
              Cancel DAG
            </button>
          )}
        </div>
      </header>
      <div className="run-body">
        <DagGraph
          graph={graph}
          selected={selected}
          onSelectJob={setSelected}
          onExpandGroup={(g) => setExpanded((prev) => new Set(prev).add(g))}
        />
        {selectedJob && (
          <NodePanel
            dagId={dag.id}
            taskId={selectedJob.taskId}
            version={`${selectedJob.state}:${selectedJob.tryNumber}`}
            dagCancelled={dag.state === 'CANCELLED'}
          />
        )}
      </div>
    </section>
  );
}
