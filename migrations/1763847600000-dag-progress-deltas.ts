import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: a DAG's job counters without a write to its row per transition. A
 * group-committed batch inserts one row of counter deltas per DAG it touched (insert-only:
 * concurrent batches never wait for each other here); the DAG's counters are its row's
 * `n_*` plus the sum of its delta rows. Whoever changes the DAG's own state (the settle
 * after a batch that ended jobs, cancel, retry, a failure, the scheduler's compaction)
 * locks the row and folds the committed deltas into it. No foreign key: its check would
 * take a KEY SHARE lock on the DAG row from every batch (the purge deletes them instead).
 */
export class DagProgressDeltas1763847600000 implements MigrationInterface {
  name = 'DagProgressDeltas1763847600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE dag_progress_deltas (
        id bigserial PRIMARY KEY,
        tenant_id uuid NOT NULL,
        dag_id text NOT NULL,
        d_pending integer NOT NULL DEFAULT 0,
        d_active integer NOT NULL DEFAULT 0,
        d_completed integer NOT NULL DEFAULT 0,
        d_failed integer NOT NULL DEFAULT 0,
        d_skipped integer NOT NULL DEFAULT 0,
        d_cached integer NOT NULL DEFAULT 0,
        saved_seconds double precision NOT NULL DEFAULT 0
      )`);
    await q.query(`CREATE INDEX dag_progress_deltas_dag ON dag_progress_deltas (tenant_id, dag_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE dag_progress_deltas`);
  }
}
