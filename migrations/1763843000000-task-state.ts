import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The seed's (marie-kernel) `task_state` table, unchanged in shape so its Python backend
 * reads and writes the same rows: one row per (tenant, dag name, dag id, task, try, key).
 */
export class TaskState1763843000000 implements MigrationInterface {
  name = 'TaskState1763843000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE task_state (
        tenant_id text NOT NULL,
        dag_name text NOT NULL,
        dag_id text NOT NULL,
        task_id text NOT NULL,
        try_number int NOT NULL,
        key text NOT NULL,
        value_json jsonb NOT NULL,
        metadata jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, dag_name, dag_id, task_id, try_number, key)
      )`);
    // A key's latest try of a task (get/pull with fromTask).
    await q.query(
      `CREATE INDEX task_state_lookup_idx ON task_state (tenant_id, dag_name, dag_id, task_id, key, try_number DESC)`,
    );
    // Batched reads by (dag id, task id) without the DAG name (Job.taskState's DataLoader).
    await q.query(`CREATE INDEX task_state_task_idx ON task_state (tenant_id, dag_id, task_id, try_number)`);
    await q.query(`CREATE INDEX task_state_created_idx ON task_state (created_at)`);
    await q.query(`COMMENT ON TABLE task_state IS 'Per-task-instance state of DAG runs (the state kernel)'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE task_state`);
  }
}
