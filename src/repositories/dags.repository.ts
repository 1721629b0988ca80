import { rows as sqlRows, type SqlRunner } from '../db/sql';
import type { DagState } from '../core/states';

/**
 * What the DAG row says of its SLAs after a transition's counters were applied (taken in
 * the same UPDATE, so it costs no statement): whether the DAG is past an unmarked
 * deadline, and whether a job that ended here is.
 */
export interface SlaDue {
  soft_sla: Date | null;
  hard_sla: Date | null;
  soft_due: boolean;
  hard_due: boolean;
  jobs_due: boolean;
}

/** The RETURNING columns of SlaDue; `$ended` is the uuid[] parameter of the jobs that ended. */
export const slaDueColumns = (ended: string): string =>
  `d.soft_sla, d.hard_sla,
   (d.soft_sla < now() AND d.sla_soft_missed_at IS NULL) AS soft_due,
   (d.hard_sla < now() AND d.sla_hard_missed_at IS NULL) AS hard_due,
   EXISTS (SELECT 1 FROM jobs sj WHERE sj.id = ANY(${ended}::uuid[])
             AND ((sj.soft_sla < now() AND sj.sla_soft_missed_at IS NULL)
               OR (sj.hard_sla < now() AND sj.sla_hard_missed_at IS NULL))) AS jobs_due`;

/** A DAG's job counters. */
export interface DagCounters {
  n_total: number;
  n_pending: number;
  n_active: number;
  n_completed: number;
  n_failed: number;
  n_skipped: number;
}

/** Counter deltas of one transaction's transitions on one DAG. */
export interface CounterDelta {
  pending: number;
  active: number;
  completed: number;
  failed: number;
  skipped: number;
}

/** The DAG row after its counters were applied. */
export type CountedDag = DagCounters &
  SlaDue & { state: DagState; old_state: DagState; name: string; callback_url: string | null };

/** The engine's SQL on `dags`: counters, end and reopening, locks, hard SLA marks, purge. */
export class DagsRepository {
  /**
   * Apply counter deltas to the DAG row, locking it (this serialises the end-of-DAG
   * decision); `activated` moves a CREATED DAG to ACTIVE. Null when there is no such DAG.
   */
  async applyCounters(
    m: SqlRunner,
    tenantId: string,
    dagId: string,
    delta: CounterDelta,
    activated: boolean,
    endedJobIds: string[],
  ): Promise<CountedDag | null> {
    const rows: CountedDag[] = await sqlRows(
      m,
      `WITH old AS (SELECT state FROM dags WHERE tenant_id = $1 AND id = $2 FOR UPDATE)
         UPDATE dags d SET n_pending = n_pending + $3, n_active = n_active + $4, n_completed = n_completed + $5,
           n_failed = n_failed + $6, n_skipped = n_skipped + $7,
           state = CASE WHEN d.state = 'CREATED' AND $8 THEN 'ACTIVE' ELSE d.state END,
           started_at = CASE WHEN d.started_at IS NULL AND $8 THEN now() ELSE d.started_at END
         FROM old WHERE d.tenant_id = $1 AND d.id = $2
         RETURNING d.n_total, d.n_pending, d.n_active, d.n_completed, d.n_failed, d.n_skipped, d.state, old.state AS old_state,
           d.name, d.callback_url, ${slaDueColumns('$9')}`,
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

  /** Delete finished DAGs past their purge time (materializations stay). */
  async purge(m: SqlRunner, limit: number): Promise<number> {
    const rows: unknown[] = await sqlRows(
      m,
      `DELETE FROM dags WHERE (tenant_id, id) IN (
         SELECT tenant_id, id FROM dags WHERE purge_after < now() AND state IN ('COMPLETED','FAILED','CANCELLED') LIMIT $1)
       RETURNING 1`,
      [limit],
    );
    return rows.length;
  }
}
