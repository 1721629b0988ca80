import { prepared, rows as sqlRows, type SqlRunner } from '../db/sql';
import type { DagState } from '../core/states';

/** Counter deltas of one transaction's transitions on one DAG. */
export interface CounterDelta {
  pending: number;
  active: number;
  completed: number;
  failed: number;
  skipped: number;
  /** Jobs completed from the cache, and the seconds they saved. */
  cached?: number;
  savedSeconds?: number;
}

/** The DAG's state and open jobs as the committed rows say (no lock taken). */
export interface CommittedOpen {
  tenantId: string;
  dagId: string;
  state: DagState;
  open: number;
}

/**
 * A read of `dags d` with the counters of its uncompacted deltas: select
 * `d.*, ${DELTA_COLUMNS}` from `dags d ${DELTA_JOIN}` and pass the rows to `foldDeltas`.
 * One statement for a list of DAGs, as before (a lateral sum over the deltas' index).
 */
export const DELTA_COLUMNS = `x.dp_pending, x.dp_active, x.dp_completed, x.dp_failed, x.dp_skipped, x.dp_cached, x.dp_saved`;
export const DELTA_JOIN = `LEFT JOIN LATERAL (
    SELECT sum(d_pending)::int AS dp_pending, sum(d_active)::int AS dp_active, sum(d_completed)::int AS dp_completed,
      sum(d_failed)::int AS dp_failed, sum(d_skipped)::int AS dp_skipped, sum(d_cached)::int AS dp_cached,
      sum(saved_seconds) AS dp_saved
    FROM dag_progress_deltas x WHERE x.tenant_id = d.tenant_id AND x.dag_id = d.id) x ON true`;

interface Folding {
  n_pending: number;
  n_active: number;
  n_completed: number;
  n_failed: number;
  n_skipped: number;
  n_cached: number;
  saved_seconds: number;
}

/** Rows read with DELTA_COLUMNS: their deltas added to their counters, the extra columns removed. */
export function foldDeltas<T extends Folding>(list: T[]): T[] {
  return list.map((r) => {
    const x = r as T & Record<string, number | null>;
    const { dp_pending, dp_active, dp_completed, dp_failed, dp_skipped, dp_cached, dp_saved, ...row } = x;
    return {
      ...(row as unknown as T),
      n_pending: r.n_pending + (dp_pending ?? 0),
      n_active: r.n_active + (dp_active ?? 0),
      n_completed: r.n_completed + (dp_completed ?? 0),
      n_failed: r.n_failed + (dp_failed ?? 0),
      n_skipped: r.n_skipped + (dp_skipped ?? 0),
      n_cached: r.n_cached + (dp_cached ?? 0),
      saved_seconds: Number(r.saved_seconds ?? 0) + Number(dp_saved ?? 0),
    };
  });
}

/**
 * The insert-only counter deltas of group-committed batches (issue 18): a batch never
 * writes the DAG row, so batches of one DAG do not wait for each other's commit there.
 */
export class DagProgressRepository {
  /**
   * The DAGs' state and open jobs as committed now, read without a lock: after a batch
   * that ended jobs commits, whether its DAG may have nothing left open (the last
   * committer's read sees every commit before it).
   */
  async committedOpen(m: SqlRunner, keys: Array<{ tenantId: string; dagId: string }>): Promise<CommittedOpen[]> {
    if (keys.length === 0) return [];
    const list: Array<{ tenant_id: string; id: string; state: DagState; open: number }> = await prepared(
      m,
      'dag_progress_open',
      `SELECT d.tenant_id, d.id, d.state, (d.n_pending + d.n_active + COALESCE(x.dp_pending, 0) + COALESCE(x.dp_active, 0))::int AS open
         FROM unnest($1::uuid[], $2::text[]) AS k(tenant_id, id)
         JOIN dags d ON d.tenant_id = k.tenant_id AND d.id = k.id ${DELTA_JOIN}`,
      [keys.map((k) => k.tenantId), keys.map((k) => k.dagId)],
    );
    return list.map((r) => ({ tenantId: r.tenant_id, dagId: r.id, state: r.state, open: r.open }));
  }

  /** DAGs with deltas to fold (the scheduler's compaction and its backstop for a lost settle). */
  async withDeltas(m: SqlRunner, limit: number): Promise<Array<{ tenantId: string; dagId: string }>> {
    const list: Array<{ tenant_id: string; dag_id: string }> = await sqlRows(
      m,
      `SELECT DISTINCT x.tenant_id, x.dag_id FROM dag_progress_deltas x
         JOIN dags d ON d.tenant_id = x.tenant_id AND d.id = x.dag_id LIMIT $1`,
      [limit],
    );
    return list.map((r) => ({ tenantId: r.tenant_id, dagId: r.dag_id }));
  }
}
