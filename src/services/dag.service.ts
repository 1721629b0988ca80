import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { badInput, conflict, notFound } from '../errors/domain-error';
import { appendEvents } from '../events/event-log';
import type { Principal } from '../core/policy';
import {
  assertFirst,
  decodeCursorKey,
  decodeTimeIdCursor,
  encodeCursor,
  encodeTimeIdCursor,
  toConnection,
  type ConnectionView,
} from '../lib/pagination';
import type { DagCounters, DagRow, DagsRepository } from '../repositories/dags.repository';
import type { AttemptRow, JobPageQuery, JobRow, JobRowsRepository } from '../repositories/job-rows.repository';
import { ID_PATTERN, validateDag, type SubmitDagInputLike } from './dag-validation';
import { pastDeadlineField } from './sla-marks';
import type { DagState, JobState } from '../core/states';
import { bucket, progressOf, type DagProgressView } from './engine/dag-transitions';
import type { ServiceTxHandlers } from './tx-events';

export type { DagRow } from '../repositories/dags.repository';
export type { JobRow } from '../repositories/job-rows.repository';

export type SlaStatus = 'NONE' | 'ON_TRACK' | 'SOFT_MISSED' | 'HARD_MISSED' | 'MET';

/** Judged against the deadlines (the end, or now while open), not against when a sweep ran. */
export function slaStatusOf(d: DagRow, now = new Date()): SlaStatus {
  if (!d.soft_sla && !d.hard_sla) return 'NONE';
  const end = d.completed_at ?? now;
  if (d.sla_hard_missed_at || (d.hard_sla && end > d.hard_sla)) return 'HARD_MISSED';
  if (d.sla_soft_missed_at || (d.soft_sla && end > d.soft_sla)) return 'SOFT_MISSED';
  if (d.completed_at) return 'MET';
  return 'ON_TRACK';
}

export function dagProgress(d: DagRow): DagProgressView {
  return progressOf(d);
}

export interface DagListFilter {
  state?: DagState | null;
  name?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  first: number;
  after?: string | null;
}

/** The jobs of one (level, executor) of a DAG, with their counts per state. */
export interface JobGroupView {
  level: number;
  executor: string;
  progress: DagProgressView;
}

/** `Dag.jobPage(...)` of one DAG: the arguments as given. */
export interface JobPageKey {
  dagId: string;
  first: number | null;
  after: string | null;
  level: number | null;
  executor: string | null;
  state: JobState | null;
}

export const JOB_PAGE_DEFAULT = 100;

/** The cursor of a job in a job page: its (level, task id). */
const jobCursor = (j: JobRow): string => encodeCursor(String(j.job_level), j.task_id);

/** A page request checked and decoded: `first`, `after` and `level` are BAD_USER_INPUT naming the argument. */
function jobPageQuery(k: JobPageKey): JobPageQuery & { first: number } {
  const first = assertFirst('first', k.first, JOB_PAGE_DEFAULT);
  if (k.level !== null && (!Number.isInteger(k.level) || k.level < 0)) throw badInput('level', 'must be 0 or more');
  let after: [number, string] | null = null;
  const key = decodeCursorKey('after', k.after, 2);
  if (key) {
    const [level, taskId] = key as [string, string];
    if (!/^\d{1,9}$/.test(level) || !ID_PATTERN.test(taskId)) throw badInput('after', 'not a cursor this query gave');
    after = [Number(level), taskId];
  }
  return { dagId: k.dagId, level: k.level, executor: k.executor, state: k.state, after, first, limit: first + 1 };
}

/** Submissions at least this big check whether the job tables' planner statistics are stale. */
const ANALYZE_AFTER_JOBS = 1000;

/**
 * Submission and reads of DAGs; submission runs the "dag.submitted" handlers in its
 * transaction. State changes after submission live in services/engine/.
 */
export class DagService {
  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly handlers: ServiceTxHandlers,
    private readonly dagRows: DagsRepository,
    private readonly jobRows: JobRowsRepository,
  ) {}

  /**
   * Validate the whole DAG, then store DAG, jobs, dependencies and node expectations in one
   * transaction. Resubmitting a client id with the same normalised input returns the
   * existing DAG; any difference is CONFLICT. Returns the DAG, whether it is new, and
   * `statistics`: the refresh of the job tables' planner statistics that a big new DAG
   * starts after commit (null when none is needed), which the answer does not wait for and
   * the DAG's first dispatch does (JobCommands.submit).
   */
  async submit(
    principal: Principal,
    input: SubmitDagInputLike,
  ): Promise<{
    dag: DagRow;
    created: boolean;
    executors: Array<{ executor: string; requiresGpu: boolean }>;
    statistics: Promise<void> | null;
  }> {
    const dag = validateDag(input, {
      isProduction: this.config.isProduction,
      allowList: this.config.callbackAllowList,
      hasSecret: !!this.config.callbackSecret,
    });
    const tenantId = principal.tenantId;
    const late = pastDeadlineField(dag);
    if (late) {
      // A replay of a DAG stored while its deadline was ahead still returns it.
      const existing = dag.id ? await this.get(tenantId, dag.id) : null;
      if (existing?.input_hash === dag.hash) return { dag: existing, created: false, executors: [], statistics: null };
      throw badInput(late, 'this deadline has already passed; an SLA must lie ahead at submission');
    }
    const dagId = dag.id ?? randomUUID();
    const result = await this.ds.transaction(async (m) => {
      const inserted = await this.dagRows.insert(m, tenantId, dagId, {
        name: dag.name,
        metadataJson: dag.metadata === null ? null : JSON.stringify(dag.metadata),
        hash: dag.hash,
        submittedBy: principal.apiKeyName,
        softSla: dag.softSla,
        hardSla: dag.hardSla,
        nJobs: dag.jobs.length,
        callbackUrl: dag.callbackUrl,
      });
      if (!inserted) {
        const e = await this.dagRows.get(m, tenantId, dagId);
        if (!e) throw conflict(`DAG ${dagId} is being purged; submit again`);
        if (e.input_hash !== dag.hash) {
          throw conflict(`DAG ${dagId} exists with a different definition`, { field: 'input.id' });
        }
        return { dag: e, created: false };
      }
      await this.jobRows.insertDagJobs(
        m,
        tenantId,
        dagId,
        dag.jobs.map(() => randomUUID()),
        dag.jobs,
      );
      await this.handlers.run('dag.submitted', m, { tenantId, dagId, dag });
      const row = inserted;
      await appendEvents(m, tenantId, [
        {
          type: 'DAG',
          dagId,
          payload: {
            dagId,
            name: dag.name,
            state: 'CREATED',
            previousState: null,
            progress: progressOf(row),
            at: row.created_at.toISOString(),
          },
        },
      ]);
      return { dag: row, created: true };
    });
    let statistics: Promise<void> | null = null;
    if (result.created && dag.jobs.length >= ANALYZE_AFTER_JOBS) {
      const deps = dag.jobs.reduce((n, j) => n + j.dependencies.length, 0);
      statistics = this.analyzeIfStale({ jobs: dag.jobs.length, job_dependencies: deps });
      // Awaited by the dispatch, which logs a failure; never an unhandled rejection meanwhile.
      statistics.catch(() => undefined);
    }
    return {
      ...result,
      executors: dag.jobs.map((j) => ({ executor: j.executor, requiresGpu: j.requiresGpu })),
      statistics,
    };
  }

  private analyzing: Promise<void> | null = null;

  /**
   * A big DAG into tables whose planner statistics predate most of their rows (a fresh
   * database, a first large run) would have the engine's key lookups planned as scans
   * until autovacuum gets round to it (a minute or more): when the rows just added are
   * more than half of what the statistics last counted, refresh them at once (one refresh
   * at a time: a submission during one shares it).
   */
  private analyzeIfStale(added: Record<'jobs' | 'job_dependencies', number>): Promise<void> {
    this.analyzing ??= (async () => {
      try {
        for (const t of await this.jobRows.plannerCounts(this.ds)) {
          if (added[t.relname] > Math.max(0, Number(t.reltuples)) / 2) await this.jobRows.analyze(this.ds, t.relname);
        }
      } finally {
        this.analyzing = null;
      }
    })();
    return this.analyzing;
  }

  async get(tenantId: string, dagId: string): Promise<DagRow | null> {
    return this.dagRows.get(this.ds, tenantId, dagId);
  }

  async getOrFail(tenantId: string, dagId: string): Promise<DagRow> {
    const d = await this.get(tenantId, dagId);
    if (!d) throw notFound(`DAG ${dagId}`);
    return d;
  }

  async getMany(tenantId: string, dagIds: readonly string[]): Promise<DagRow[]> {
    return this.dagRows.getMany(this.ds, tenantId, dagIds);
  }

  async list(
    tenantId: string,
    f: DagListFilter,
  ): Promise<{ rows: DagRow[]; hasNext: boolean; total: number; cursor: (d: DagRow) => string }> {
    assertFirst('first', f.first, f.first);
    const { rows, total } = await this.dagRows.page(this.ds, tenantId, {
      state: f.state,
      name: f.name,
      createdAfter: f.createdAfter,
      createdBefore: f.createdBefore,
      after: f.after ? decodeTimeIdCursor('after', f.after, ID_PATTERN) : null,
      limit: f.first + 1,
    });
    return {
      rows: rows.slice(0, f.first),
      hasNext: rows.length > f.first,
      total,
      cursor: (d) => encodeTimeIdCursor(d.created_at, d.id),
    };
  }

  async job(tenantId: string, dagId: string, taskId: string): Promise<JobRow | null> {
    return this.jobRows.byTask(this.ds, tenantId, dagId, taskId);
  }

  async jobById(tenantId: string, jobId: string): Promise<JobRow | null> {
    return this.jobRows.byId(this.ds, tenantId, jobId);
  }

  // ---- batched reads for the DataLoaders (one statement per batch) ----

  async jobsOfDags(tenantId: string, dagIds: readonly string[]): Promise<JobRow[]> {
    return this.jobRows.ofDags(this.ds, tenantId, dagIds);
  }

  /**
   * The jobs each of `jobIds` depends on ('dependencies') or that depend on it ('dependents'),
   * as rows tagged with the job they belong to (`of`): one statement per batch.
   */
  async related(
    tenantId: string,
    jobIds: readonly string[],
    relation: 'dependencies' | 'dependents',
  ): Promise<Array<JobRow & { of: string }>> {
    return this.jobRows.related(this.ds, tenantId, jobIds, relation);
  }

  /**
   * Each DAG's jobs counted per (level, executor) and state, ordered by level then
   * executor: one grouped statement for the whole batch.
   */
  async jobGroups(tenantId: string, dagIds: readonly string[]): Promise<Map<string, JobGroupView[]>> {
    const rows = await this.jobRows.groupCounts(this.ds, tenantId, dagIds);
    const by = new Map<string, Map<string, { level: number; executor: string; c: DagCounters }>>();
    for (const r of rows) {
      let groups = by.get(r.dag_id);
      if (!groups) by.set(r.dag_id, (groups = new Map()));
      const id = `${r.job_level}\u0000${r.executor}`;
      let g = groups.get(id);
      if (!g) {
        const c = { n_total: 0, n_pending: 0, n_active: 0, n_completed: 0, n_failed: 0, n_skipped: 0, n_cached: 0 };
        groups.set(id, (g = { level: r.job_level, executor: r.executor, c }));
      }
      g.c.n_total += r.n;
      g.c[`n_${bucket(r.state)}`] += r.n;
      if (r.cached) g.c.n_cached = (g.c.n_cached ?? 0) + r.n;
    }
    const order = (a: JobGroupView, b: JobGroupView) =>
      a.level - b.level || (a.executor < b.executor ? -1 : a.executor > b.executor ? 1 : 0);
    return new Map(
      dagIds.map((d) => [
        d,
        [...(by.get(d)?.values() ?? [])]
          .map((g) => ({ level: g.level, executor: g.executor, progress: progressOf(g.c) }))
          .sort(order),
      ]),
    );
  }

  /**
   * Pages of jobs, ordered by (level, task id), of several DAGs in one statement. A request
   * with a bad argument gets its error (BAD_USER_INPUT naming it); the others their page.
   */
  async jobPages(tenantId: string, keys: readonly JobPageKey[]): Promise<Array<ConnectionView<JobRow> | Error>> {
    const checked = keys.map((k) => {
      try {
        return jobPageQuery(k);
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    });
    const queries = checked.filter((q): q is Exclude<typeof q, Error> => !(q instanceof Error));
    const rows = queries.length ? await this.jobRows.pages(this.ds, tenantId, queries) : [];
    const pages = queries.map(() => ({ rows: [] as JobRow[], total: 0 }));
    for (const r of rows) {
      const page = pages[r.ord - 1];
      if (!page) continue;
      page.total = r.total;
      if (r.id !== null) page.rows.push(r);
    }
    let i = 0;
    return checked.map((q) => {
      if (q instanceof Error) return q;
      const page = pages[i++];
      return toConnection(page.rows, q.first, page.total, jobCursor, q.after !== null);
    });
  }

  async attempts(tenantId: string, jobIds: readonly string[]): Promise<AttemptRow[]> {
    return this.jobRows.attempts(this.ds, tenantId, jobIds);
  }
}
