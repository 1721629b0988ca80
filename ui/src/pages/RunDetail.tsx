import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ProgressBar, SlaBadge, StateBadge } from '../components/Badges';
import { DagGraph } from '../components/DagGraph';
import { NodePanel } from '../components/NodePanel';
import {
  CancelDagDoc,
  DagStatusDoc,
  GroupJobsDoc,
  JobGroupsDoc,
  JobStatusDoc,
  RunDetailDoc,
} from '../graphql/documents';
import type { GroupFragment } from '../graphql/generated/graphql';
import {
  COLLAPSE_ABOVE,
  fullGraph,
  GROUP_PAGE,
  groupedGraph,
  moveInGroups,
  type GraphJob,
  type OpenGroup,
} from '../lib/dag-graph';
import { duration, when } from '../lib/format';
import { useCan, useSession } from '../lib/session-context';
import { useQuery } from '../lib/use-query';

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];

/**
 * One DAG run, live through jobStatusChanged and dagStatusChanged from the eventCursor read
 * with it. Up to COLLAPSE_ABOVE jobs it draws them all; above, the groups per (level,
 * executor) with their counts (read again, at most once a second, while events arrive),
 * a group opened on a click a page of jobs at a time.
 */
export function RunDetail({ dagId }: { dagId: string }) {
  const { api } = useSession();
  const canCancel = useCan('dag.cancel');
  const q = useQuery(RunDetailDoc, { id: dagId, first: COLLAPSE_ABOVE });
  const [jobs, setJobs] = useState<Map<string, GraphJob>>(() => new Map());
  const [groups, setGroups] = useState<GroupFragment[]>([]);
  const [open, setOpen] = useState<Map<string, OpenGroup>>(() => new Map());
  const [selected, setSelected] = useState<string | null>(null);
  const jobCursor = useRef<string | null>(null);
  const dagCursor = useRef<string | null>(null);
  const groupsStale = useRef(false);
  const { setData } = q;
  const dag = q.data?.dag;
  const startCursor = q.data?.eventCursor ?? null;
  const collapsed = (dag?.jobPage.totalCount ?? 0) > COLLAPSE_ABOVE;

  // The first read: every job of a small DAG, the groups of a big one. (DAG events replace
  // the DAG's own fields, never these two, so this runs once per read.)
  const firstGroups = dag?.jobGroups;
  const firstPage = dag?.jobPage;
  useEffect(() => {
    if (firstGroups) setGroups(firstGroups);
    if (!firstPage || firstPage.totalCount > COLLAPSE_ABOVE) return;
    setJobs((prev) => {
      const next = new Map(prev);
      for (const { node } of firstPage.edges) next.set(node.taskId, node);
      return next;
    });
  }, [firstGroups, firstPage]);

  useEffect(() => {
    if (!startCursor) return;
    jobCursor.current ??= startCursor;
    dagCursor.current ??= startCursor;
    const offJobs = api.subscribe(
      JobStatusDoc,
      () => ({ dagId, after: jobCursor.current }),
      ({ jobStatusChanged: e }) => {
        jobCursor.current = e.cursor;
        groupsStale.current = true;
        if (e.job) {
          const { jobLevel, executor } = e.job;
          setGroups((prev) => moveInGroups(prev, jobLevel, executor, e.previousState, e.state));
        }
        setJobs((prev) => {
          const job = prev.get(e.taskId);
          if (!job) return prev;
          const next = new Map(prev);
          // The job's attempts come with the event: a hit's CACHED outcome is drawn at once.
          next.set(e.taskId, {
            ...job,
            state: e.state,
            tryNumber: e.tryNumber,
            progressPercent: e.progressPercent,
            attempts: e.job?.attempts ?? job.attempts,
          });
          return next;
        });
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

  // A big DAG's group counts: moved by each job event at once, and read again every 5 s
  // while events arrive (what a missed or coalesced event would have changed).
  useEffect(() => {
    if (!collapsed) return;
    const timer = setInterval(() => {
      if (!groupsStale.current) return;
      groupsStale.current = false;
      api.request(JobGroupsDoc, { id: dagId }).then(
        (d) => d.dag && setGroups(d.dag.jobGroups),
        () => undefined,
      );
    }, 5000);
    return () => clearInterval(timer);
  }, [api, dagId, collapsed]);

  const openGroup = useCallback(
    async (id: string) => {
      const group = groups.find((g) => `g:${g.level}:${g.executor}` === id);
      if (!group) return;
      const before = open.get(id);
      if (before && !before.hasMore) return;
      const d = await api.request(GroupJobsDoc, {
        id: dagId,
        level: group.level,
        executor: group.executor,
        first: GROUP_PAGE,
        after: before?.endCursor ?? undefined,
      });
      const page = d.dag?.jobPage;
      if (!page) return;
      setJobs((prev) => {
        const next = new Map(prev);
        for (const { node } of page.edges) next.set(node.taskId, node);
        return next;
      });
      setOpen((prev) =>
        new Map(prev).set(id, {
          taskIds: [...(before?.taskIds ?? []), ...page.edges.map((e) => e.node.taskId)],
          total: page.totalCount,
          endCursor: page.pageInfo.endCursor ?? null,
          hasMore: page.pageInfo.hasNextPage,
        }),
      );
    },
    [api, dagId, groups, open],
  );

  const graph = useMemo(
    () => (collapsed ? groupedGraph(groups, jobs, open) : fullGraph(jobs)),
    [collapsed, groups, jobs, open],
  );

  if (q.error) return <p className="error">{q.error}</p>;
  if (!q.data) return <p className="loading">Loading…</p>;
  if (!dag) return <p className="error">No DAG {dagId} in this tenant.</p>;
  const selectedJob = selected ? jobs.get(selected) : undefined;
  return (
    <section className="run-detail">
      <header className="run-head">
        <h1>
          {dag.name} <StateBadge state={dag.state} /> <SlaBadge status={dag.slaStatus} />
        </h1>
        <p className="sub">
          {dag.id} · {dag.progress.total} jobs · created {when(dag.createdAt)} · ran{' '}
          {duration(dag.startedAt, dag.completedAt)}
          {dag.submittedBy ? ` · by ${dag.submittedBy}` : ''}
          {collapsed ? ' · grouped by level and executor: click a group to open it' : ''}
        </p>
        <ProgressBar p={dag.progress} />
        <div className="actions">
          {collapsed && open.size > 0 && (
            <button type="button" onClick={() => setOpen(new Map())}>
              Close every group
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
        {graph.units.length > 0 && (
          <DagGraph
            graph={graph}
            selected={selected}
            onSelectJob={setSelected}
            onOpenGroup={(g) => void openGroup(g)}
            onPainted={() => performance.mark('graph-painted')}
          />
        )}
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
