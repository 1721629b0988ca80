import type { DagState } from '../core/states';
import { prepared, rows as sqlRows, type SqlRunner } from '../db/sql';
import { DELTA_COLUMNS, DELTA_JOIN, foldDeltas, type CounterDelta } from './dag-progress.repository';
import { slaDueColumns, type SlaDue } from './sla-marks.repository';

export type { CounterDelta } from './dag-progress.repository';

/** A DAG's row as the API reads it. */
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
  n_cached: number;
  saved_seconds: number;
  callback_url: string | null;
  callback_state: string | null;
  callback_attempts: number;
  callback_last_error: string | null;
  callback_delivered_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

/** What a submission stores of a new DAG. */
export interface NewDag {
  name: string;
  metadataJson: string | null;
  hash: string;
  submittedBy: string | null;
  softSla: Date | null;
  hardSla: Date | null;
  nJobs: number;
  callbackUrl: string | null;
}

/** The filters of the DAG list (a keyset page: `after` is the last row's created_at and id). */
export interface DagPageFilter {
  state?: DagState | null;
  name?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  after?: [string, string] | null;
  /** Rows to read (the page size plus one, to tell whether there is a next page). */
  limit: number;
}

/** A DAG's job counters. */
export interface DagCounters {
  n_total: number;
  n_pending: number;
  n_active: number;
  n_completed: number;
  n_failed: number;
  n_skipped: number;
  n_cached?: number;
}

/** The DAG row after its counters were applied. */
export type CountedDag = DagCounters &
  SlaDue & { state: DagState; old_state: DagState; name: string; callback_url: string | null };

/** The engine's SQL on `dags`: counters, end and reopening, locks, hard SLA marks, purge. */
export class DagsRepository {
  /** A new DAG's row; null when one with this id exists (a replay, a conflict or a purge in progress). */
  async insert(m: SqlRunner, tenantId: string, dagId: string, d: NewDag): Promise<DagRow | null> {
    const inserted: DagRow[] = await sqlRows(
      m,
      `INSERT INTO dags (tenant_id, id, name, metadata, input_hash, submitted_by, soft_sla, hard_sla, n_total, n_pending, callback_url)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)
       ON CONFLICT (tenant_id, id) DO NOTHING RETURNING *`,
      [tenantId, dagId, d.name, d.metadataJson, d.hash, d.submittedBy, d.softSla, d.hardSla, d.nJobs, d.callbackUrl],
    );
    return inserted[0] ?? null;
  }

  async get(m: SqlRunner, tenantId: string, dagId: string): Promise<DagRow | null> {
    const rows: DagRow[] = await sqlRows(
      m,
      `SELECT d.*, ${DELTA_COLUMNS} FROM dags d ${DELTA_JOIN} WHERE d.tenant_id = $1 AND d.id = $2`,
      [tenantId, dagId],
    );
    return foldDeltas(rows)[0] ?? null;
  }

  async getMany(m: SqlRunner, tenantId: string, dagIds: readonly string[]): Promise<DagRow[]> {
    const rows: DagRow[] = await sqlRows(
      m,
      `SELECT d.*, ${DELTA_COLUMNS} FROM dags d ${DELTA_JOIN} WHERE d.tenant_id = $1 AND d.id = ANY($2::text[])`,
      [tenantId, dagIds],
    );
    return foldDeltas(rows);
  }

  /** A page of a tenant's DAGs, newest first, and how many match the filters in all. */
  async page(m: SqlRunner, tenantId: string, f: DagPageFilter): Promise<{ rows: DagRow[]; total: number }> {
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
      const [ts, id] = f.after;
      args.push(ts, id);
      where.push(`(created_at, id) < ($${args.length - 1}::timestamptz, $${args.length})`);
    }
    args.push(f.limit);
    const rows: DagRow[] = await sqlRows(
      m,
      `SELECT d.*, ${DELTA_COLUMNS} FROM (SELECT * FROM dags WHERE ${where.join(' AND ')}
         ORDER BY created_at DESC, id DESC LIMIT $${args.length}) d ${DELTA_JOIN} ORDER BY d.created_at DESC, d.id DESC`,
      args,
    );
    const count: Array<{ n: number }> = await sqlRows(
      m,
      `SELECT count(*)::int AS n FROM dags WHERE ${filterSql}`,
      filterArgs,
    );
    return { rows: foldDeltas(rows), total: count[0]?.n ?? 0 };
  }

  /**
   * Apply this transaction's counter deltas and fold the committed ones of the batches
   * (dag_progress_deltas) into the DAG row, whose lock the caller holds (`lockState`, an
   * earlier statement: this one's snapshot then holds every delta committed before it);
   * `activated` moves a CREATED DAG to ACTIVE. Null when there is no such DAG.
   */
  async applyCounters(
    m: SqlRunner,
    tenantId: string,
    dagId: string,
    oldState: DagState,
    delta: CounterDelta,
    activated: boolean,
    endedJobIds: string[],
  ): Promise<CountedDag | null> {
    const rows: CountedDag[] = await prepared(
      m,
      'dags_apply_counters',
      `WITH del AS (DELETE FROM dag_progress_deltas WHERE tenant_id = $1 AND dag_id = $2 RETURNING *),
       s AS (SELECT COALESCE(sum(d_pending), 0)::int AS p, COALESCE(sum(d_active), 0)::int AS a,
               COALESCE(sum(d_completed), 0)::int AS c, COALESCE(sum(d_failed), 0)::int AS f,
               COALESCE(sum(d_skipped), 0)::int AS s, COALESCE(sum(d_cached), 0)::int AS k,
               COALESCE(sum(saved_seconds), 0) AS v FROM del)
       UPDATE dags d SET n_pending = n_pending + $3 + s.p, n_active = n_active + $4 + s.a,
           n_completed = n_completed + $5 + s.c, n_failed = n_failed + $6 + s.f, n_skipped = n_skipped + $7 + s.s,
           n_cached = n_cached + $10 + s.k, saved_seconds = saved_seconds + $11 + s.v,
           state = CASE WHEN d.state = 'CREATED' AND $8 THEN 'ACTIVE' ELSE d.state END,
           started_at = CASE WHEN d.started_at IS NULL AND $8 THEN now() ELSE d.started_at END
         FROM s WHERE d.tenant_id = $1 AND d.id = $2
         RETURNING d.n_total, d.n_pending, d.n_active, d.n_completed, d.n_failed, d.n_skipped, d.n_cached, d.state,
           $12::text AS old_state, d.name, d.callback_url, ${slaDueColumns('$9')}`,
      [
        tenantId,
        dagId,
        delta.pending,
        delta.active,
        delta.completed,
        delta.failed,
        delta.skipped,
        activated,
        endedJobIds,
        delta.cached ?? 0,
        delta.savedSeconds ?? 0,
        oldState,
      ],
    );
    return rows[0] ?? null;
  }

  /** The DAG ends in `state`: its callback is due, it is purged after its jobs' keepUntil or the retention. */
  async finish(m: SqlRunner, tenantId: string, dagId: string, state: DagState, retentionSecs: number): Promise<void> {
    await m.query(
      `UPDATE dags d SET state = $3, completed_at = now(),
         callback_state = CASE WHEN d.callback_url IS NOT NULL THEN 'PENDING' ELSE NULL END,
         callback_attempts = 0, callback_next_at = CASE WHEN d.callback_url IS NOT NULL THEN now() ELSE NULL END,
         purge_after = COALESCE((SELECT max(keep_until) FROM jobs j WHERE j.tenant_id = d.tenant_id AND j.dag_id = d.id),
                                now() + make_interval(secs => $4::double precision))
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, dagId, state, retentionSecs],
    );
  }

  /** An ended DAG ACTIVE again (a job of it retried). */
  async reopen(m: SqlRunner, tenantId: string, dagId: string): Promise<void> {
    await m.query(
      `UPDATE dags SET state = 'ACTIVE', completed_at = NULL, purge_after = NULL, callback_state = NULL, callback_next_at = NULL
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, dagId],
    );
  }

  /** The DAG's state, its row locked; null when there is no such DAG. */
  async lockState(m: SqlRunner, tenantId: string, dagId: string): Promise<DagState | null> {
    const dag: Array<{ state: DagState }> = await sqlRows(
      m,
      `SELECT state FROM dags WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
      [tenantId, dagId],
    );
    return dag[0]?.state ?? null;
  }

  /** Open DAGs past an unmarked hard SLA. */
  async pastHardSla(m: SqlRunner): Promise<Array<{ tenantId: string; id: string; hardSla: Date }>> {
    const rows: Array<{ tenant_id: string; id: string; hard_sla: Date }> = await sqlRows(
      m,
      `SELECT tenant_id, id, hard_sla FROM dags WHERE hard_sla < now() AND sla_hard_missed_at IS NULL AND state IN ('CREATED','ACTIVE') LIMIT 100`,
    );
    return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id, hardSla: r.hard_sla }));
  }

  /** Mark a DAG's hard miss; false when already marked or ended. */
  async markHardMissed(m: SqlRunner, tenantId: string, dagId: string): Promise<boolean> {
    const marked: unknown[] = await sqlRows(
      m,
      `UPDATE dags SET sla_hard_missed_at = now() WHERE tenant_id = $1 AND id = $2 AND sla_hard_missed_at IS NULL
         AND state IN ('CREATED','ACTIVE') RETURNING 1`,
      [tenantId, dagId],
    );
    return marked.length > 0;
  }

  /**
   * Delete finished DAGs past their purge time (materializations stay): their jobs and
   * dependencies by cascade, their counter deltas and attempt rows (no foreign keys) here.
   */
  async purge(m: SqlRunner, limit: number): Promise<number> {
    const rows: unknown[] = await sqlRows(
      m,
      `WITH gone AS (DELETE FROM dags WHERE (tenant_id, id) IN (
         SELECT tenant_id, id FROM dags WHERE purge_after < now() AND state IN ('COMPLETED','FAILED','CANCELLED') LIMIT $1)
         RETURNING tenant_id, id),
       deltas AS (DELETE FROM dag_progress_deltas x USING gone WHERE x.tenant_id = gone.tenant_id AND x.dag_id = gone.id),
       attempts AS (DELETE FROM job_attempts a USING jobs j, gone
                     WHERE a.job_id = j.id AND j.tenant_id = gone.tenant_id AND j.dag_id = gone.id)
       SELECT 1 FROM gone`,
      [limit],
    );
    return rows.length;
  }

  /** Callbacks that are due, claimed (SKIP LOCKED) with their attempt counted and a five-minute lease. */
  async claimDueCallbacks(m: SqlRunner, limit: number): Promise<DagRow[]> {
    return sqlRows(
      m,
      `UPDATE dags d SET callback_next_at = now() + interval '5 minutes', callback_attempts = d.callback_attempts + 1
       FROM (SELECT tenant_id, id FROM dags WHERE callback_state = 'PENDING' AND callback_next_at <= now()
             ORDER BY callback_next_at LIMIT $1 FOR UPDATE SKIP LOCKED) c
       WHERE d.tenant_id = c.tenant_id AND d.id = c.id RETURNING d.*`,
      [limit],
    );
  }

  async callbackDelivered(m: SqlRunner, tenantId: string, dagId: string): Promise<void> {
    await m.query(
      `UPDATE dags SET callback_state = 'DELIVERED', callback_delivered_at = now(), callback_last_error = NULL, callback_next_at = NULL
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, dagId],
    );
  }

  /** A failed delivery: again after `backoffMs` while PENDING, or FAILED for good. */
  async callbackFailed(
    m: SqlRunner,
    tenantId: string,
    dagId: string,
    error: string,
    state: 'PENDING' | 'FAILED',
    backoffMs: number,
  ): Promise<void> {
    await m.query(
      `UPDATE dags SET callback_last_error = $3, callback_state = $4,
         callback_next_at = CASE WHEN $4 = 'PENDING' THEN now() + make_interval(secs => $5::double precision / 1000) ELSE NULL END
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, dagId, error, state, backoffMs],
    );
  }
}
