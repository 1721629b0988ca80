import { rows as sqlRows } from '../db/sql';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { badInput, conflict, notFound } from '../errors/domain-error';
import { appendEvents } from '../events/event-log';
import type { Principal } from '../core/policy';
import { decodeDagCursor, encodeDagCursor } from './dag-cursor';
import { validateDag, type SubmitDagInputLike } from './dag-validation';
import { pastDeadlineField } from './sla-marks';
import type { DagState, JobState } from '../core/states';
import { progressOf, type DagProgressView } from './engine/dag-transitions';
import type { ServiceTxHandlers } from './tx-events';

export interface DagRow {
  tenant_id: string;
  id: string;
  name: string;
  state: DagState;
  metadata: unknown;
  input_hash: string;
  submitted_by: string | null;
  soft_sla: Date | null;
  hard_sla: Date | null;
  sla_soft_missed_at: Date | null;
  sla_hard_missed_at: Date | null;
  n_total: number;
  n_pending: number;
  n_active: number;
  n_completed: number;
  n_failed: number;
  n_skipped: number;
  callback_url: string | null;
  callback_state: string | null;
  callback_attempts: number;
  callback_last_error: string | null;
  callback_delivered_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

export interface JobRow {
  id: string;
  tenant_id: string;
  dag_id: string;
  task_id: string;
  name: string;
  executor: string;
  priority: number;
  data: unknown;
  state: JobState;
  job_level: number;
  try_number: number;
  retry_limit: number;
  retry_delay: number;
  retry_backoff: boolean;
  start_after: Date | null;
  expire_in_seconds: number | null;
  keep_until: Date | null;
  soft_sla: Date | null;
  hard_sla: Date | null;
  requires_gpu: boolean;
  partition_key: string | null;
  output: unknown;
  error: string | null;
  progress_percent: number | null;
  progress_message: string | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

export const JOB_COLUMNS = `id, tenant_id, dag_id, task_id, name, executor, priority, data, state, job_level, try_number, retry_limit,
  retry_delay, retry_backoff, start_after, expire_in_seconds, keep_until, soft_sla, hard_sla, requires_gpu, partition_key,
  output, error, progress_percent, progress_message, created_at, started_at, completed_at`;

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
  ) {}

  /**
   * Validate the whole DAG, then store DAG, jobs, dependencies and node expectations in one
   * transaction. Resubmitting a client id with the same normalised input returns the
   * existing DAG; any difference is CONFLICT. Returns the DAG and whether it is new.
   */
  async submit(
    principal: Principal,
    input: SubmitDagInputLike,
  ): Promise<{ dag: DagRow; created: boolean; executors: Array<{ executor: string; requiresGpu: boolean }> }> {
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
      if (existing?.input_hash === dag.hash) return { dag: existing, created: false, executors: [] };
      throw badInput(late, 'this deadline has already passed; an SLA must lie ahead at submission');
    }
    const dagId = dag.id ?? randomUUID();
    const result = await this.ds.transaction(async (m) => {
      const inserted: DagRow[] = await sqlRows(
        m,
        `INSERT INTO dags (tenant_id, id, name, metadata, input_hash, submitted_by, soft_sla, hard_sla, n_total, n_pending, callback_url)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)
         ON CONFLICT (tenant_id, id) DO NOTHING RETURNING *`,
        [
          tenantId,
          dagId,
          dag.name,
          dag.metadata === null ? null : JSON.stringify(dag.metadata),
          dag.hash,
          principal.apiKeyName,
          dag.softSla,
          dag.hardSla,
          dag.jobs.length,
          dag.callbackUrl,
        ],
      );
      if (!inserted[0]) {
        const existing: DagRow[] = await sqlRows(m, `SELECT * FROM dags WHERE tenant_id = $1 AND id = $2`, [
          tenantId,
          dagId,
        ]);
        const e = existing[0];
        if (!e) throw conflict(`DAG ${dagId} is being purged; submit again`);
        if (e.input_hash !== dag.hash) {
          throw conflict(`DAG ${dagId} exists with a different definition`, { field: 'input.id' });
        }
        return { dag: e, created: false };
      }
      const ids = dag.jobs.map(() => randomUUID());
      const idOf = new Map(dag.jobs.map((j, i) => [j.taskId, ids[i]]));
      const J = dag.jobs;
      await m.query(
        `INSERT INTO jobs (id, tenant_id, dag_id, task_id, name, executor, priority, data, job_level, pending_deps, retry_limit,
           retry_delay, retry_backoff, start_after, run_after, expire_in_seconds, keep_until, soft_sla, hard_sla, requires_gpu, partition_key)
         SELECT u.id, $1, $2, u.task_id, u.name, u.executor, u.priority, u.data, u.level, u.deps, u.retry_limit, u.retry_delay,
           u.retry_backoff, u.start_after, u.start_after, u.expire, u.keep_until, u.soft_sla, u.hard_sla, u.gpu, u.partition_key
         FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[], $8::jsonb[], $9::int[], $10::int[], $11::int[],
           $12::int[], $13::boolean[], $14::timestamptz[], $15::int[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[],
           $19::boolean[], $20::text[])
           AS u(id, task_id, name, executor, priority, data, level, deps, retry_limit, retry_delay, retry_backoff, start_after,
                expire, keep_until, soft_sla, hard_sla, gpu, partition_key)`,
        [
          tenantId,
          dagId,
          ids,
          J.map((j) => j.taskId),
          J.map((j) => j.name),
          J.map((j) => j.executor),
          J.map((j) => j.priority),
          J.map((j) => j.dataJson),
          J.map((j) => j.jobLevel),
          J.map((j) => j.dependencies.length),
          J.map((j) => j.retryLimit),
          J.map((j) => j.retryDelay),
          J.map((j) => j.retryBackoff),
          J.map((j) => j.startAfter),
          J.map((j) => j.expireInSeconds),
          J.map((j) => j.keepUntil),
          J.map((j) => j.softSla),
          J.map((j) => j.hardSla),
          J.map((j) => j.requiresGpu),
          J.map((j) => j.partitionKey),
        ],
      );
      const from: string[] = [];
      const to: string[] = [];
      for (const j of J) {
        for (const d of j.dependencies) {
          from.push(idOf.get(j.taskId)!);
          to.push(idOf.get(d)!);
        }
      }
      if (from.length) {
        await m.query(
          `INSERT INTO job_dependencies (job_id, depends_on) SELECT * FROM unnest($1::uuid[], $2::uuid[])`,
          [from, to],
        );
      }
      await this.handlers.run('dag.submitted', m, { tenantId, dagId, dag });
      const row = inserted[0];
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
    if (result.created && dag.jobs.length >= ANALYZE_AFTER_JOBS) {
      const deps = dag.jobs.reduce((n, j) => n + j.dependencies.length, 0);
      await this.analyzeIfStale({ jobs: dag.jobs.length, job_dependencies: deps });
    }
    return { ...result, executors: dag.jobs.map((j) => ({ executor: j.executor, requiresGpu: j.requiresGpu })) };
  }

  private analyzing: Promise<void> | null = null;

  /**
   * A big DAG into tables whose planner statistics predate most of their rows (a fresh
   * database, a first large run) would have the engine's key lookups planned as scans
   * until autovacuum gets round to it (a minute or more): when the rows just added are
   * more than half of what the statistics last counted, refresh them at once.
   */
  private analyzeIfStale(added: Record<'jobs' | 'job_dependencies', number>): Promise<void> {
    this.analyzing ??= (async () => {
      try {
        const counted: Array<{ relname: 'jobs' | 'job_dependencies'; reltuples: number }> = await sqlRows(
          this.ds,
          `SELECT relname, reltuples FROM pg_class
            WHERE oid IN (to_regclass('jobs'), to_regclass('job_dependencies'))`,
        );
        for (const t of counted) {
          if (added[t.relname] > Math.max(0, Number(t.reltuples)) / 2) await this.ds.query(`ANALYZE ${t.relname}`);
        }
      } finally {
        this.analyzing = null;
      }
    })();
    return this.analyzing;
  }

  async get(tenantId: string, dagId: string): Promise<DagRow | null> {
    const rows: DagRow[] = await sqlRows(this.ds, `SELECT * FROM dags WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      dagId,
    ]);
    return rows[0] ?? null;
  }

  async getOrFail(tenantId: string, dagId: string): Promise<DagRow> {
    const d = await this.get(tenantId, dagId);
    if (!d) throw notFound(`DAG ${dagId}`);
    return d;
  }

  async getMany(tenantId: string, dagIds: readonly string[]): Promise<DagRow[]> {
    return this.ds.query(`SELECT * FROM dags WHERE tenant_id = $1 AND id = ANY($2::text[])`, [tenantId, dagIds]);
  }

  async list(
    tenantId: string,
    f: DagListFilter,
  ): Promise<{ rows: DagRow[]; hasNext: boolean; total: number; cursor: (d: DagRow) => string }> {
    if (!Number.isInteger(f.first) || f.first < 0 || f.first > 500) throw badInput('first', 'must be 0 to 500');
    const where = ['tenant_id = $1'];
    const args: unknown[] = [tenantId];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (f.state) add('state = ?', f.state);
    if (f.name) add('name = ?', f.name);
    if (f.createdAfter) add('created_at > ?', f.createdAfter);
    if (f.createdBefore) add('created_at < ?', f.createdBefore);
    const filterSql = where.join(' AND ');
    const filterArgs = [...args];
    if (f.after) {
      const [ts, id] = decodeDagCursor(f.after);
      args.push(ts, id);
      where.push(`(created_at, id) < ($${args.length - 1}::timestamptz, $${args.length})`);
    }
    args.push(f.first + 1);
    const rows: DagRow[] = await sqlRows(
      this.ds,
      `SELECT * FROM dags WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
      args,
    );
    const count: Array<{ n: number }> = await sqlRows(
      this.ds,
      `SELECT count(*)::int AS n FROM dags WHERE ${filterSql}`,
      filterArgs,
    );
    return {
      rows: rows.slice(0, f.first),
      hasNext: rows.length > f.first,
      total: count[0]?.n ?? 0,
      cursor: encodeDagCursor,
    };
  }

  async job(tenantId: string, dagId: string, taskId: string): Promise<JobRow | null> {
    const rows: JobRow[] = await sqlRows(
      this.ds,
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND task_id = $3`,
      [tenantId, dagId, taskId],
    );
    return rows[0] ?? null;
  }

  async jobById(tenantId: string, jobId: string): Promise<JobRow | null> {
    const rows: JobRow[] = await sqlRows(this.ds, `SELECT ${JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      jobId,
    ]);
    return rows[0] ?? null;
  }

  // ---- batched reads for the DataLoaders (one statement per batch) ----

  async jobsOfDags(tenantId: string, dagIds: readonly string[]): Promise<JobRow[]> {
    return this.ds.query(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND dag_id = ANY($2::text[]) ORDER BY job_level, task_id`,
      [tenantId, dagIds],
    );
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
    const [own, other] = relation === 'dependencies' ? ['job_id', 'depends_on'] : ['depends_on', 'job_id'];
    const cols = JOB_COLUMNS.split(',')
      .map((c) => `r.${c.trim()}`)
      .join(', ');
    return this.ds.query(
      `SELECT jd.${own} AS of, ${cols}
       FROM job_dependencies jd JOIN jobs r ON r.id = jd.${other}
       WHERE jd.${own} = ANY($2::uuid[]) AND r.tenant_id = $1 ORDER BY r.task_id`,
      [tenantId, jobIds],
    );
  }

  async attempts(
    tenantId: string,
    jobIds: readonly string[],
  ): Promise<
    Array<{
      job_id: string;
      try_number: number;
      outcome: string;
      worker_id: string | null;
      started_at: Date;
      finished_at: Date | null;
      error: string | null;
    }>
  > {
    return this.ds.query(
      `SELECT a.job_id, a.try_number, a.outcome, a.worker_id, a.started_at, a.finished_at, a.error
       FROM job_attempts a JOIN jobs j ON j.id = a.job_id
       WHERE a.job_id = ANY($2::uuid[]) AND j.tenant_id = $1 ORDER BY a.id`,
      [tenantId, jobIds],
    );
  }
}
