/** A DAG as drawn: jobs, or (for big DAGs) groups per (level, executor) with counts per state. */

export interface GraphJob {
  taskId: string;
  executor: string;
  jobLevel: number;
  state: string;
  tryNumber: number;
  progressPercent?: number | null;
  dependencies: string[];
}

export interface JobUnit {
  kind: 'job';
  id: string;
  job: GraphJob;
}

export interface GroupUnit {
  kind: 'group';
  id: string;
  level: number;
  executor: string;
  total: number;
  counts: Record<string, number>;
}

export type Unit = JobUnit | GroupUnit;

export interface DrawnGraph {
  units: Unit[];
  edges: Array<{ id: string; source: string; target: string }>;
  /** Changes only when what is drawn changes (not on a state change): the layout's key. */
  structureKey: string;
}

/** DAGs with more jobs than this start collapsed by level and executor. */
export const COLLAPSE_ABOVE = 300;

export const groupId = (level: number, executor: string): string => `g:${level}:${executor}`;
export const jobId = (taskId: string): string => `j:${taskId}`;

/**
 * The units and edges to draw. With `collapsed`, each (level, executor) group is one node
 * unless it is in `expanded`; an edge joins the units of a dependency and its dependent.
 */
export function drawnGraph(jobs: GraphJob[], collapsed: boolean, expanded: ReadonlySet<string>): DrawnGraph {
  const unitOf = new Map<string, string>();
  const units: Unit[] = [];
  const groups = new Map<string, GroupUnit>();
  for (const job of jobs) {
    const g = groupId(job.jobLevel, job.executor);
    if (collapsed && !expanded.has(g)) {
      let group = groups.get(g);
      if (!group) {
        group = { kind: 'group', id: g, level: job.jobLevel, executor: job.executor, total: 0, counts: {} };
        groups.set(g, group);
        units.push(group);
      }
      group.total++;
      group.counts[job.state] = (group.counts[job.state] ?? 0) + 1;
      unitOf.set(job.taskId, g);
    } else {
      units.push({ kind: 'job', id: jobId(job.taskId), job });
      unitOf.set(job.taskId, jobId(job.taskId));
    }
  }
  const seen = new Set<string>();
  const edges: DrawnGraph['edges'] = [];
  for (const job of jobs) {
    const target = unitOf.get(job.taskId);
    for (const dep of job.dependencies) {
      const source = unitOf.get(dep);
      if (!source || !target || source === target) continue;
      const id = `${source}->${target}`;
      if (seen.has(id)) continue;
      seen.add(id);
      edges.push({ id, source, target });
    }
  }
  const structureKey = `${units.length}:${edges.length}:${units.map((u) => u.id).join('|')}`;
  return { units, edges, structureKey };
}
