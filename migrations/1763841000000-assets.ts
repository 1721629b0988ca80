import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The asset catalog: the registry, immutable materializations, their lineage rows, the
 * deduplicated asset-level edge table, latest pointers (per asset and per partition) and
 * the assets each DAG node is expected to produce. Every row is tenant-scoped.
 */
export class Assets1763841000000 implements MigrationInterface {
  name = 'Assets1763841000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE assets (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        key text NOT NULL CHECK (key ~ '^[A-Za-z0-9_./-]{1,255}$'),
        namespace text GENERATED ALWAYS AS (split_part(key, '/', 1)) STORED,
        kind text,
        description text,
        tags jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, key)
      )`);
    await q.query(`CREATE INDEX assets_namespace_idx ON assets (tenant_id, namespace, key)`);
    await q.query(`CREATE INDEX assets_kind_idx ON assets (tenant_id, kind, key)`);

    await q.query(`
      CREATE TABLE materializations (
        id bigserial PRIMARY KEY,
        tenant_id uuid NOT NULL,
        asset_key text NOT NULL,
        version text NOT NULL,
        partition_key text,
        job_id text,
        try_number int,
        dag_id text,
        node_task_id text,
        storage_event_id text,
        kind text,
        size_bytes bigint CHECK (size_bytes >= 0),
        checksum text,
        uri text,
        metadata jsonb,
        code_fingerprint text,
        prompt_fingerprint text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        FOREIGN KEY (tenant_id, asset_key) REFERENCES assets (tenant_id, key) ON DELETE CASCADE,
        CONSTRAINT materializations_identity_key
          UNIQUE NULLS NOT DISTINCT (tenant_id, asset_key, version, partition_key, dag_id, node_task_id)
      )`);
    await q.query(
      `CREATE INDEX materializations_asset_idx ON materializations (tenant_id, asset_key, partition_key, id)`,
    );
    await q.query(`CREATE INDEX materializations_asset_id_idx ON materializations (tenant_id, asset_key, id)`);
    await q.query(
      `CREATE INDEX materializations_node_idx ON materializations (tenant_id, dag_id, node_task_id, asset_key)`,
    );
    await q.query(`CREATE INDEX materializations_created_idx ON materializations (tenant_id, created_at)`);

    await q.query(`
      CREATE TABLE materialization_lineage (
        id bigserial PRIMARY KEY,
        tenant_id uuid NOT NULL,
        materialization_id bigint NOT NULL REFERENCES materializations (id) ON DELETE CASCADE,
        upstream_asset_key text NOT NULL,
        upstream_version text NOT NULL,
        upstream_partition_key text,
        CONSTRAINT materialization_lineage_key
          UNIQUE NULLS NOT DISTINCT (materialization_id, upstream_asset_key, upstream_version, upstream_partition_key)
      )`);
    await q.query(
      `CREATE INDEX materialization_lineage_upstream_idx
         ON materialization_lineage (tenant_id, upstream_asset_key, upstream_version, materialization_id)`,
    );

    await q.query(`
      CREATE TABLE asset_edges (
        tenant_id uuid NOT NULL,
        from_key text NOT NULL,
        to_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, from_key, to_key),
        FOREIGN KEY (tenant_id, from_key) REFERENCES assets (tenant_id, key) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, to_key) REFERENCES assets (tenant_id, key) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX asset_edges_to_idx ON asset_edges (tenant_id, to_key, from_key)`);

    await q.query(`
      CREATE TABLE asset_latest (
        tenant_id uuid NOT NULL,
        asset_key text NOT NULL,
        materialization_id bigint NOT NULL REFERENCES materializations (id) ON DELETE CASCADE,
        PRIMARY KEY (tenant_id, asset_key)
      )`);
    await q.query(`
      CREATE TABLE asset_partition_latest (
        tenant_id uuid NOT NULL,
        asset_key text NOT NULL,
        partition_key text,
        materialization_id bigint NOT NULL PRIMARY KEY REFERENCES materializations (id) ON DELETE CASCADE,
        CONSTRAINT asset_partition_latest_key UNIQUE NULLS NOT DISTINCT (tenant_id, asset_key, partition_key)
      )`);

    await q.query(`
      CREATE TABLE node_asset_expectations (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        dag_id text NOT NULL,
        node_task_id text NOT NULL,
        asset_key text NOT NULL CHECK (asset_key ~ '^[A-Za-z0-9_./-]{1,255}$'),
        kind text,
        is_primary boolean NOT NULL DEFAULT false,
        is_required boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, dag_id, node_task_id, asset_key)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE node_asset_expectations`);
    await q.query(`DROP TABLE asset_partition_latest`);
    await q.query(`DROP TABLE asset_latest`);
    await q.query(`DROP TABLE asset_edges`);
    await q.query(`DROP TABLE materialization_lineage`);
    await q.query(`DROP TABLE materializations`);
    await q.query(`DROP TABLE assets`);
  }
}
