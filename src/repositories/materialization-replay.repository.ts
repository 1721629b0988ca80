import { rows as sqlRows, type SqlRunner } from '../db/sql';

/** One node's copy: the source try's materializations, recorded again for another DAG node and try. */
export interface ReplayCopy {
  tenantId: string;
  from: { dagId: string; nodeTaskId: string; tryNumber: number };
  to: { jobId: string; dagId: string; nodeTaskId: string; tryNumber: number };
}

/** A row of `materializations`, as the asset services read it. */
export interface MaterializationRow {
  id: string;
  asset_key: string;
  version: string;
  partition_key: string | null;
  job_id: string | null;
  try_number: number | null;
  dag_id: string | null;
  node_task_id: string | null;
  storage_event_id: string | null;
  kind: string | null;
  size_bytes: string | null;
  checksum: string | null;
  uri: string | null;
  metadata: Record<string, unknown> | null;
  code_fingerprint: string | null;
  prompt_fingerprint: string | null;
  created_at: Date;
}

/** A materialization the replay created, with its tenant. */
export interface ReplayedRow extends MaterializationRow {
  tenant_id: string;
}

/**
 * Memoised execution's recording: a batch of cache hits' materializations copied from their
 * sources in one statement (DESIGN.md "Memoised execution"): the same versions and
 * upstream refs (lineage rows, edges), the latest pointers moved forward once per asset for
 * the whole batch. A copy whose identity already exists for that node is an idempotent replay.
 */
export class MaterializationReplayRepository {
  async replay(m: SqlRunner, copies: ReplayCopy[]): Promise<ReplayedRow[]> {
    if (copies.length === 0) return [];
    return sqlRows<ReplayedRow>(
      m,
      `WITH c AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::int[])
           AS c(tenant_id, src_dag, src_node, src_try, job_id, dag_id, node_task_id, try_number)),
       src AS (
         SELECT s.id AS src_id, c.tenant_id, c.job_id, c.dag_id AS to_dag, c.node_task_id AS to_node, c.try_number AS to_try,
                s.asset_key, s.version, s.partition_key, s.kind, s.size_bytes, s.checksum, s.uri, s.metadata,
                s.code_fingerprint, s.prompt_fingerprint
           FROM c JOIN materializations s ON s.tenant_id = c.tenant_id AND s.dag_id = c.src_dag
            AND s.node_task_id = c.src_node AND s.try_number = c.src_try),
       ins AS (
         INSERT INTO materializations AS m (tenant_id, asset_key, version, partition_key, job_id, try_number, dag_id,
             node_task_id, kind, size_bytes, checksum, uri, metadata, code_fingerprint, prompt_fingerprint)
         SELECT tenant_id, asset_key, version, partition_key, job_id, to_try, to_dag, to_node, kind, size_bytes, checksum,
                uri, metadata, code_fingerprint, prompt_fingerprint
           FROM src ORDER BY src_id
         ON CONFLICT ON CONSTRAINT materializations_identity_key DO NOTHING
         RETURNING m.*),
       pairs AS (
         SELECT ins.id, ins.tenant_id, ins.asset_key, src.src_id FROM ins JOIN src
             ON src.tenant_id = ins.tenant_id AND src.to_dag = ins.dag_id AND src.to_node = ins.node_task_id
            AND src.asset_key = ins.asset_key AND src.version = ins.version
            AND src.partition_key IS NOT DISTINCT FROM ins.partition_key),
       ups AS (
         SELECT p.id, p.tenant_id, p.asset_key, l.id AS lineage_id, l.upstream_asset_key, l.upstream_version,
                l.upstream_partition_key
           FROM pairs p JOIN materialization_lineage l ON l.materialization_id = p.src_id AND l.tenant_id = p.tenant_id),
       lin AS (
         INSERT INTO materialization_lineage
             (tenant_id, materialization_id, upstream_asset_key, upstream_version, upstream_partition_key)
         SELECT tenant_id, id, upstream_asset_key, upstream_version, upstream_partition_key FROM ups ORDER BY id, lineage_id
         ON CONFLICT ON CONSTRAINT materialization_lineage_key DO NOTHING),
       edge_assets AS (
         INSERT INTO assets (tenant_id, key)
         SELECT DISTINCT tenant_id, upstream_asset_key FROM ups ORDER BY 1, 2
         ON CONFLICT (tenant_id, key) DO NOTHING),
       edges AS (
         INSERT INTO asset_edges (tenant_id, from_key, to_key)
         SELECT DISTINCT tenant_id, upstream_asset_key, asset_key FROM ups ORDER BY 1, 2, 3
         ON CONFLICT DO NOTHING),
       latest AS (
         INSERT INTO asset_latest AS l (tenant_id, asset_key, materialization_id)
         SELECT tenant_id, asset_key, max(id) FROM ins GROUP BY 1, 2 ORDER BY 1, 2
         ON CONFLICT (tenant_id, asset_key) DO UPDATE SET materialization_id = EXCLUDED.materialization_id
           WHERE l.materialization_id < EXCLUDED.materialization_id),
       part_latest AS (
         INSERT INTO asset_partition_latest AS l (tenant_id, asset_key, partition_key, materialization_id)
         SELECT tenant_id, asset_key, partition_key, max(id) FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
         ON CONFLICT ON CONSTRAINT asset_partition_latest_key
           DO UPDATE SET materialization_id = EXCLUDED.materialization_id
           WHERE l.materialization_id < EXCLUDED.materialization_id)
       SELECT m.tenant_id, m.id::text AS id, m.asset_key, m.version, m.partition_key, m.job_id, m.try_number, m.dag_id,
              m.node_task_id, m.storage_event_id, m.kind, m.size_bytes::text AS size_bytes, m.checksum, m.uri, m.metadata,
              m.code_fingerprint, m.prompt_fingerprint, m.created_at
         FROM ins m ORDER BY m.id`,
      [
        copies.map((c) => c.tenantId),
        copies.map((c) => c.from.dagId),
        copies.map((c) => c.from.nodeTaskId),
        copies.map((c) => c.from.tryNumber),
        copies.map((c) => c.to.jobId),
        copies.map((c) => c.to.dagId),
        copies.map((c) => c.to.nodeTaskId),
        copies.map((c) => c.to.tryNumber),
      ],
    );
  }
}
