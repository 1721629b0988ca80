import type { MigrationInterface, QueryRunner } from 'typeorm';

const OPEN = `('CREATED','RETRY','ACTIVE')`;

export class DagEngine1763842000000 implements MigrationInterface {
  name = 'DagEngine1763842000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE dags (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        id text NOT NULL,
        name text NOT NULL,
        state text NOT NULL DEFAULT 'CREATED'
          CHECK (state IN ('CREATED','ACTIVE','COMPLETED','FAILED','CANCELLED')),
        metadata jsonb,
        input_hash text NOT NULL,
        submitted_by text,
        soft_sla timestamptz,
        hard_sla timestamptz,
        sla_soft_missed_at timestamptz,
        sla_hard_missed_at timestamptz,
        n_total int NOT NULL,
        n_pending int NOT NULL,
        n_active int NOT NULL DEFAULT 0,
        n_completed int NOT NULL DEFAULT 0,
        n_failed int NOT NULL DEFAULT 0,
        n_skipped int NOT NULL DEFAULT 0,
        callback_url text,
        callback_state text CHECK (callback_state IN ('PENDING','DELIVERED','FAILED')),
        callback_attempts int NOT NULL DEFAULT 0,
        callback_last_error text,
        callback_next_at timestamptz,
        callback_delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        completed_at timestamptz,
        purge_after timestamptz,
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`CREATE INDEX dags_tenant_created_idx ON dags (tenant_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX dags_tenant_name_idx ON dags (tenant_id, name, created_at DESC)`);
    await q.query(`CREATE INDEX dags_tenant_state_idx ON dags (tenant_id, state, created_at DESC)`);
    await q.query(
      `CREATE INDEX dags_soft_sla_idx ON dags (soft_sla) WHERE soft_sla IS NOT NULL AND sla_soft_missed_at IS NULL AND state IN ('CREATED','ACTIVE')`,
    );
    await q.query(
      `CREATE INDEX dags_hard_sla_idx ON dags (hard_sla) WHERE hard_sla IS NOT NULL AND sla_hard_missed_at IS NULL AND state IN ('CREATED','ACTIVE')`,
    );
    await q.query(`CREATE INDEX dags_callback_idx ON dags (callback_next_at) WHERE callback_state = 'PENDING'`);
    await q.query(`CREATE INDEX dags_purge_idx ON dags (purge_after) WHERE purge_after IS NOT NULL`);

    await q.query(`
      CREATE TABLE jobs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL,
        dag_id text NOT NULL,
        task_id text NOT NULL,
        name text NOT NULL,
        executor text NOT NULL,
        priority int NOT NULL DEFAULT 0,
        data jsonb,
        state text NOT NULL DEFAULT 'CREATED'
          CHECK (state IN ('CREATED','RETRY','ACTIVE','COMPLETED','FAILED','EXPIRED','CANCELLED','SKIPPED')),
        job_level int NOT NULL,
        try_number int NOT NULL DEFAULT 1,
        retry_base int NOT NULL DEFAULT 0,
        dispatch int NOT NULL DEFAULT 0,
        dispatched_at timestamptz,
        run_after timestamptz,
        pending_deps int NOT NULL,
        retry_limit int NOT NULL DEFAULT 0,
        retry_delay int NOT NULL DEFAULT 0,
        retry_backoff boolean NOT NULL DEFAULT false,
        start_after timestamptz,
        expire_in_seconds int,
        keep_until timestamptz,
        soft_sla timestamptz,
        hard_sla timestamptz,
        sla_soft_missed_at timestamptz,
        sla_hard_missed_at timestamptz,
        requires_gpu boolean NOT NULL DEFAULT false,
        partition_key text,
        output jsonb,
        error text,
        progress_percent real,
        progress_message text,
        lease_owner text,
        lease_expires_at timestamptz,
        attempt_started_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        completed_at timestamptz,
        UNIQUE (tenant_id, dag_id, task_id),
        FOREIGN KEY (tenant_id, dag_id) REFERENCES dags (tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX jobs_ready_idx ON jobs (priority DESC, job_level, run_after)
                   WHERE state IN ('CREATED','RETRY') AND pending_deps = 0 AND dispatched_at IS NULL`);
    await q.query(
      `CREATE INDEX jobs_dispatched_idx ON jobs (dispatched_at) WHERE state IN ('CREATED','RETRY') AND dispatched_at IS NOT NULL`,
    );
    await q.query(`CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE state = 'ACTIVE'`);
    await q.query(
      `CREATE INDEX jobs_expiry_idx ON jobs (attempt_started_at) WHERE state = 'ACTIVE' AND expire_in_seconds IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX jobs_soft_sla_idx ON jobs (soft_sla) WHERE soft_sla IS NOT NULL AND sla_soft_missed_at IS NULL AND state IN ${OPEN}`,
    );
    await q.query(
      `CREATE INDEX jobs_hard_sla_idx ON jobs (hard_sla) WHERE hard_sla IS NOT NULL AND sla_hard_missed_at IS NULL AND state IN ${OPEN}`,
    );
    await q.query(`CREATE INDEX jobs_stats_idx ON jobs (tenant_id, executor, state)`);

    await q.query(`
      CREATE TABLE job_dependencies (
        job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        depends_on uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        PRIMARY KEY (job_id, depends_on)
      )`);
    await q.query(`CREATE INDEX job_dependencies_depends_on_idx ON job_dependencies (depends_on)`);

    await q.query(`
      CREATE TABLE job_attempts (
        id bigserial PRIMARY KEY,
        job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        try_number int NOT NULL,
        dispatch int NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('RUNNING','SUCCEEDED','FAILED','EXPIRED','CANCELLED','LOST','HANDED_BACK')),
        worker_id text,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        error text
      )`);
    await q.query(`CREATE INDEX job_attempts_job_idx ON job_attempts (job_id, id)`);

    await q.query(`CREATE SEQUENCE event_position_seq`);
    await q.query(`
      CREATE TABLE event_log (
        id bigserial PRIMARY KEY,
        tenant_id uuid NOT NULL,
        type text NOT NULL,
        dag_id text,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        position bigint UNIQUE
      )`);
    await q.query(`CREATE INDEX event_log_unstamped_idx ON event_log (id) WHERE position IS NULL`);
    await q.query(`CREATE INDEX event_log_tenant_position_idx ON event_log (tenant_id, position)`);
    await q.query(`CREATE INDEX event_log_created_idx ON event_log (created_at)`);
    // How far the relay has published: a new relay republishes what lies beyond it.
    await q.query(
      `CREATE TABLE relay_state (id int PRIMARY KEY CHECK (id = 1), published_through bigint NOT NULL DEFAULT 0)`,
    );
    await q.query(`INSERT INTO relay_state (id) VALUES (1)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE relay_state`);
    await q.query(`DROP TABLE event_log`);
    await q.query(`DROP SEQUENCE event_position_seq`);
    await q.query(`DROP TABLE job_attempts`);
    await q.query(`DROP TABLE job_dependencies`);
    await q.query(`DROP TABLE jobs`);
    await q.query(`DROP TABLE dags`);
  }
}
