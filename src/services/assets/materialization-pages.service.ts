import type { DataSource } from 'typeorm';
import { assertFirst, decodeIdCursor, encodeCursor, toConnection, type ConnectionView } from '../../lib/pagination';
import {
  isBigintId,
  MAT_COLUMNS,
  toMaterializationView,
  type LineageRefView,
  type MaterializationRow,
  type MaterializationView,
} from './asset-views';

/** A page request of a per-parent connection, as a DataLoader key. */
export interface MaterializationPageKey {
  assetKey: string;
  first: number;
  after: string | null;
  partitionKey: string | null;
  dagId: string | null;
}

/**
 * The per-parent lists of materializations that DataLoaders batch, each in one statement:
 * an asset's pages, downstream pages, upstream refs, per DAG node. MaterializationService
 * extends it with the recording and the point look-ups.
 */
export class MaterializationPagesService {
  constructor(protected readonly ds: DataSource) {}

  /** Several assets' materialization pages (newest first) in one statement. */
  async pages(
    tenantId: string,
    keys: readonly MaterializationPageKey[],
  ): Promise<Array<ConnectionView<MaterializationView>>> {
    const reqs = keys.map((k, i) => ({
      ...k,
      first: assertFirst('first', k.first, 20),
      after: decodeIdCursor('after', k.after),
      i,
    }));
    if (!reqs.length) return [];
    const rows: Array<MaterializationRow & { ord: number; total: string }> = await this.ds.query(
      `SELECT r.ord::int AS ord, t.total::text AS total, x.*
         FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[]) WITH ORDINALITY
              AS r(k, n, after_id, p, d, ord)
        CROSS JOIN LATERAL (
           SELECT count(*) AS total FROM materializations m
            WHERE m.tenant_id = $1 AND m.asset_key = r.k
              AND (r.p IS NULL OR m.partition_key = r.p) AND (r.d IS NULL OR m.dag_id = r.d)
         ) t
         LEFT JOIN LATERAL (
           SELECT ${MAT_COLUMNS} FROM materializations m
            WHERE m.tenant_id = $1 AND m.asset_key = r.k
              AND (r.p IS NULL OR m.partition_key = r.p) AND (r.d IS NULL OR m.dag_id = r.d)
              AND (r.after_id IS NULL OR m.id < r.after_id)
            ORDER BY m.id DESC LIMIT r.n + 1
         ) x ON true
        ORDER BY r.ord, x.id::bigint DESC`,
      [
        tenantId,
        reqs.map((r) => r.assetKey),
        reqs.map((r) => r.first),
        reqs.map((r) => r.after),
        reqs.map((r) => r.partitionKey),
        reqs.map((r) => r.dagId),
      ],
    );
    return this.groupPages(reqs, rows);
  }

  private groupPages(
    reqs: ReadonlyArray<{ first: number; after: string | null }>,
    rows: Array<MaterializationRow & { ord: number; total: string }>,
  ): Array<ConnectionView<MaterializationView>> {
    const grouped = reqs.map(() => ({ rows: [] as MaterializationView[], total: 0 }));
    for (const r of rows) {
      const g = grouped[r.ord - 1];
      if (!g) continue;
      g.total = Number(r.total);
      if (r.id != null) g.rows.push(toMaterializationView(r));
    }
    return grouped.map((g, i) =>
      toConnection(g.rows, reqs[i]?.first ?? 0, g.total, (m) => encodeCursor(m.id), reqs[i]?.after != null),
    );
  }

  /** Materializations that recorded each given one as an input (newest first), paged. */
  async downstreamPages(
    tenantId: string,
    keys: ReadonlyArray<{ id: string; first: number; after: string | null }>,
  ): Promise<Array<ConnectionView<MaterializationView>>> {
    const reqs = keys.map((k) => ({
      ...k,
      first: assertFirst('first', k.first, 50),
      after: decodeIdCursor('after', k.after),
    }));
    if (!reqs.length) return [];
    const rows: Array<MaterializationRow & { ord: number; total: string }> = await this.ds.query(
      `SELECT r.ord::int AS ord, t.total::text AS total, x.*
         FROM unnest($2::bigint[], $3::bigint[], $4::int[]) WITH ORDINALITY AS r(src, after_id, n, ord)
         JOIN materializations s ON s.id = r.src AND s.tenant_id = $1
        CROSS JOIN LATERAL (
           SELECT count(*) AS total FROM materialization_lineage l
            WHERE l.tenant_id = $1 AND l.upstream_asset_key = s.asset_key AND l.upstream_version = s.version
              AND l.upstream_partition_key IS NOT DISTINCT FROM s.partition_key
         ) t
         LEFT JOIN LATERAL (
           SELECT ${MAT_COLUMNS}
             FROM materialization_lineage l
             JOIN materializations m ON m.id = l.materialization_id
            WHERE l.tenant_id = $1 AND l.upstream_asset_key = s.asset_key AND l.upstream_version = s.version
              AND l.upstream_partition_key IS NOT DISTINCT FROM s.partition_key
              AND (r.after_id IS NULL OR m.id < r.after_id)
            ORDER BY m.id DESC LIMIT r.n + 1
         ) x ON true
        ORDER BY r.ord, x.id::bigint DESC`,
      [tenantId, reqs.map((r) => (isBigintId(r.id) ? r.id : '0')), reqs.map((r) => r.after), reqs.map((r) => r.first)],
    );
    return this.groupPages(reqs, rows);
  }

  /** The lineage refs each materialization recorded, with the materialization that produced each (when known). */
  async upstreamRefs(tenantId: string, ids: readonly string[]): Promise<Map<string, LineageRefView[]>> {
    const out = new Map<string, LineageRefView[]>(ids.map((id) => [id, []]));
    const valid = [...new Set(ids.filter(isBigintId))];
    if (!valid.length) return out;
    const rows: Array<
      { src: string; up_key: string; up_version: string; up_partition: string | null } & Partial<MaterializationRow>
    > = await this.ds.query(
      `SELECT l.materialization_id::text AS src, l.upstream_asset_key AS up_key, l.upstream_version AS up_version,
              l.upstream_partition_key AS up_partition, p.*
         FROM materialization_lineage l
         LEFT JOIN LATERAL (
           SELECT ${MAT_COLUMNS} FROM materializations m
            WHERE m.tenant_id = $1 AND m.asset_key = l.upstream_asset_key AND m.version = l.upstream_version
              AND m.partition_key IS NOT DISTINCT FROM l.upstream_partition_key
            ORDER BY m.id DESC LIMIT 1
         ) p ON true
        WHERE l.tenant_id = $1 AND l.materialization_id = ANY($2::bigint[])
        ORDER BY l.materialization_id, l.upstream_asset_key, l.upstream_version`,
      [tenantId, valid],
    );
    for (const r of rows) {
      out.get(r.src)?.push({
        assetKey: r.up_key,
        version: r.up_version,
        partitionKey: r.up_partition,
        materialization: r.id ? toMaterializationView(r as MaterializationRow) : null,
      });
    }
    return out;
  }

  /** Every materialization recorded for each (dag, node), oldest first. */
  async byNodes(
    tenantId: string,
    nodes: ReadonlyArray<{ dagId: string; nodeTaskId: string }>,
  ): Promise<MaterializationView[][]> {
    if (!nodes.length) return [];
    const rows: Array<MaterializationRow & { ord: number }> = await this.ds.query(
      `SELECT r.ord::int AS ord, ${MAT_COLUMNS}
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS r(d, n, ord)
         JOIN materializations m ON m.tenant_id = $1 AND m.dag_id = r.d AND m.node_task_id = r.n
        ORDER BY r.ord, m.id`,
      [tenantId, nodes.map((n) => n.dagId), nodes.map((n) => n.nodeTaskId)],
    );
    const out: MaterializationView[][] = nodes.map(() => []);
    for (const r of rows) out[r.ord - 1]?.push(toMaterializationView(r));
    return out;
  }
}
