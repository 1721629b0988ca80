import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OpenLineage ingest (DESIGN.md "OpenLineage"): raw events append-only (an UPDATE is
 * refused by a trigger), the dataset ↔ asset key mapping, and per run the merged facets,
 * inputs and outputs that its events add up to.
 */
export class OpenLineage1763847000000 implements MigrationInterface {
  name = 'OpenLineage1763847000000';

  async up(q: QueryRunner): Promise<void> {
    // A collision suffix is `~<8 hex>`: `~` is outside every slug, so a suffixed key can
    // never equal a plain one; asset keys admit it from here on.
    await q.query(`ALTER TABLE assets DROP CONSTRAINT assets_key_check`);
    await q.query(`ALTER TABLE assets ADD CONSTRAINT assets_key_check CHECK (key ~ '^[A-Za-z0-9_./~-]{1,255}$')`);
    await q.query(`CREATE TABLE ol_events (
        id bigserial PRIMARY KEY,
        tenant_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('RUN', 'DATASET', 'JOB')),
        run_id text,
        event_type text,
        event_time timestamptz NOT NULL,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ol_events_run ON ol_events (tenant_id, run_id, id) WHERE run_id IS NOT NULL`);
    await q.query(`CREATE FUNCTION ol_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'ol_events is append-only'; END $$`);
    await q.query(`CREATE TRIGGER ol_events_no_update BEFORE UPDATE ON ol_events
        FOR EACH ROW EXECUTE FUNCTION ol_events_append_only()`);
    await q.query(`CREATE TABLE ol_datasets (
        tenant_id uuid NOT NULL,
        namespace text NOT NULL,
        name text NOT NULL,
        asset_key text NOT NULL,
        facets jsonb NOT NULL DEFAULT '{}',
        PRIMARY KEY (tenant_id, namespace, name),
        CONSTRAINT ol_datasets_asset_key UNIQUE (tenant_id, asset_key)
      )`);
    await q.query(`CREATE TABLE ol_runs (
        tenant_id uuid NOT NULL,
        run_id text NOT NULL,
        job_namespace text NOT NULL,
        job_name text NOT NULL,
        parent_run_id text,
        parent_job_namespace text,
        parent_job_name text,
        state text,
        facets jsonb NOT NULL DEFAULT '{}',
        job_facets jsonb NOT NULL DEFAULT '{}',
        inputs jsonb NOT NULL DEFAULT '[]',
        outputs jsonb NOT NULL DEFAULT '[]',
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, run_id)
      )`);
    await q.query(`CREATE INDEX ol_runs_parent ON ol_runs (tenant_id, parent_run_id) WHERE parent_run_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ol_runs`);
    await q.query(`DROP TABLE ol_datasets`);
    await q.query(`DROP TABLE ol_events`);
    await q.query(`DROP FUNCTION ol_events_append_only()`);
    await q.query(`ALTER TABLE assets DROP CONSTRAINT assets_key_check`);
    await q.query(`ALTER TABLE assets ADD CONSTRAINT assets_key_check CHECK (key ~ '^[A-Za-z0-9_./-]{1,255}$')`);
  }
}
