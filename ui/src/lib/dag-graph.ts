/**
 * A DAG as drawn: every job of a small one; for a big one, groups per (level, executor)
 * with counts per state (Dag.jobGroups), each opened on a click into its jobs, loaded a
 * page at a time (Dag.jobPage), with a "more" node while pages remain.
 */

export interface GraphJob {
  taskId: string;
  executor: string;
  jobLevel: number;
  state: string;
  tryNumber: number;
  progressPercent?: number | null;
  dependencies: Array<{ taskId: string }>;
  /** Its attempts (oldest first): a CACHED last one is drawn apart from a run one. */
  attempts?: Array<{ outcome: string }>;
}

export interface GroupCounts {
  level: number;
  executor: string;
  progress: {
    total: number;
    completed: number;
    failed: number;
    active: number;
    pending: number;
    skipped: number;
    cached?: number;
  };
}

/** What is loaded of an opened group. */
export interface OpenGroup {
  taskIds: string[];
  total: number;
  endCursor: string | null;
  hasMore: boolean;
}

export interface JobUnit {
  kind: 'job';
  id: string;
  level: number;
  job: GraphJob;
}

export interface GroupUnit {
  kind: 'group';
  id: string;
  level: number;
  group: GroupCounts;
}

export interface MoreUnit {
  kind: 'more';
  id: string;
  level: number;
  groupId: string;
  remaining: number;
}

export type Unit = JobUnit | GroupUnit | MoreUnit;

export interface DrawnGraph {
  units: Unit[];
  edges: Array<{ id: string; source: string; target: string }>;
  /** Changes only when what is drawn changes (not on a state change): the layout's key. */
  structureKey: string;
}

/** DAGs with more jobs than this start collapsed by level and executor. */
export const COLLAPSE_ABOVE = 300;
/** Jobs loaded per click on a group. */
export const GROUP_PAGE = 200;

export const groupId = (level: number, executor: string): string => `g:${level}:${executor}`;
export const jobUnitId = (taskId: string): string => `j:${taskId}`;

/** Edges between drawn jobs: a dependency's node to its dependent's. */
function jobEdges(units: Unit[]): DrawnGraph['edges'] {
  const drawn = new Set(units.filter((u) => u.kind === 'job').map((u) => u.id));
  const edges: DrawnGraph['edges'] = [];
  for (const u of units) {
    if (u.kind !== 'job') continue;
    for (const d of u.job.dependencies) {
      const source = jobUnitId(d.taskId);
      if (drawn.has(source)) edges.push({ id: `${source}->${u.id}`, source, target: u.id });
    }
  }
  return edges;
}

const key = (units: Unit[], edges: DrawnGraph['edges']) =>
  `${units.length}:${edges.length}:${units.map((u) => u.id).join('|')}`;

/** Every job (a small DAG). */
export function fullGraph(jobs: Map<string, GraphJob>): DrawnGraph {
  const units: Unit[] = [...jobs.values()].map((job) => ({
    kind: 'job',
    id: jobUnitId(job.taskId),
    level: job.jobLevel,
    job,
  }));
  const edges = jobEdges(units);
  return { units, edges, structureKey: key(units, edges) };
}

/** Groups, the opened ones as their loaded jobs (and a "more" node while pages remain). */
export function groupedGraph(
  groups: GroupCounts[],
  jobs: Map<string, GraphJob>,
  open: ReadonlyMap<string, OpenGroup>,
): DrawnGraph {
  const units: Unit[] = [];
  for (const group of groups) {
    const id = groupId(group.level, group.executor);
    const opened = open.get(id);
    if (!opened) {
      units.push({ kind: 'group', id, level: group.level, group });
      continue;
    }
    for (const taskId of opened.taskIds) {
      const job = jobs.get(taskId);
      if (job) units.push({ kind: 'job', id: jobUnitId(taskId), level: group.level, job });
    }
    if (opened.hasMore) {
      const remaining = Math.max(0, group.progress.total - opened.taskIds.length);
      units.push({ kind: 'more', id: `m:${id}`, level: group.level, groupId: id, remaining });
    }
  }
  const edges = jobEdges(units);
  return { units, edges, structureKey: key(units, edges) };
}

type Bucket = keyof Omit<GroupCounts['progress'], 'total' | 'cached'>;

/** The DagProgress counter a job state counts in (as the engine's `bucket`). */
export function bucketOf(state: string): Bucket {
  if (state === 'CREATED' || state === 'RETRY') return 'pending';
  if (state === 'ACTIVE') return 'active';
  if (state === 'COMPLETED') return 'completed';
  if (state === 'SKIPPED') return 'skipped';
  return 'failed';
}

/** A job's move from one state to another, applied to its group's counts at once. */
export function moveInGroups<G extends GroupCounts>(
  groups: G[],
  level: number,
  executor: string,
  from: string | null | undefined,
  to: string,
): G[] {
  if (!from || bucketOf(from) === bucketOf(to)) return groups;
  return groups.map((g) => {
    if (g.level !== level || g.executor !== executor) return g;
    const progress = { ...g.progress };
    progress[bucketOf(from)] = Math.max(0, progress[bucketOf(from)] - 1);
    progress[bucketOf(to)] += 1;
    return { ...g, progress };
  });
}
