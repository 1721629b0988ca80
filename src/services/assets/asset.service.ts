import type { DataSource } from 'typeorm';
import { badInput, notFound } from '../../errors/domain-error';
import {
  ASSET_COLUMNS,
  assertAssetKey,
  LATEST_MAT_COLUMNS,
  latestOf,
  MAT_COLUMNS,
  toAssetView,
  toMaterializationView,
  type AssetRow,
  type AssetView,
  type MaterializationRow,
  type MaterializationView,
} from './asset-views';
import { assertFirst, decodeCursor, encodeCursor, toConnection, type ConnectionView } from '../../lib/pagination';
import { GroupedReads } from '../../lib/grouped-reads';

export interface RegisterAssetArgs {
  key: string;
  /** Absent: kept as it is; null: cleared. */
  kind?: string | null;
  description?: string | null;
  tags?: unknown;
}

export interface AssetListArgs {
  namespace?: string | null;
  kind?: string | null;
  search?: string | null;
  first?: number | null;
  after?: string | null;
}

export interface AssetSummaryView {
  assetKey: string;
  kind: string | null;
  materializationCount: number;
  dagCount: number;
  lastMaterializedAt: Date | null;
}

export interface PartitionView {
  key: string;
  latest: MaterializationView;
}

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The asset registry and its reads. */
export class AssetService {
  /** `byKeysWithLatest`, shared across the requests of a tenant (lib/grouped-reads.ts). */
  private readonly withLatest = new GroupedReads<{ asset: AssetView; latest: MaterializationView | null }>(
    (tenantId, keys) => this.readWithLatest(tenantId, keys),
  );

  constructor(private readonly ds: DataSource) {}

  async byKeys(tenantId: string, keys: readonly string[]): Promise<Map<string, AssetView>> {
    const unique = [...new Set(keys)];
    if (!unique.length) return new Map();
    const rows: AssetRow[] = await this.ds.query(
      `SELECT ${ASSET_COLUMNS} FROM assets a WHERE a.tenant_id = $1 AND a.key = ANY($2::text[])`,
      [tenantId, unique],
    );
    return new Map(rows.map((r) => [r.key, toAssetView(r)]));
  }

  /**
   * Assets by key, each with its latest materialization across partitions (what
   * MaterializationService.latest gives for a null partition), in one statement: `asset(key)
   * { latest }`, the most frequent read, costs one statement instead of two; and the
   * concurrent requests of a tenant share statements (GroupedReads): at most two run at a
   * time, and the calls made meanwhile go out together in the next.
   */
  async byKeysWithLatest(
    tenantId: string,
    keys: readonly string[],
  ): Promise<Map<string, { asset: AssetView; latest: MaterializationView | null }>> {
    if (!keys.length) return new Map();
    return this.withLatest.load(tenantId, keys);
  }

  private async readWithLatest(
    tenantId: string,
    unique: string[],
  ): Promise<Map<string, { asset: AssetView; latest: MaterializationView | null }>> {
    const rows: Array<AssetRow & Record<string, unknown>> = await this.ds.query(
      `SELECT ${ASSET_COLUMNS}, ${LATEST_MAT_COLUMNS}
         FROM assets a
         LEFT JOIN asset_latest l ON l.tenant_id = a.tenant_id AND l.asset_key = a.key
         LEFT JOIN materializations m ON m.id = l.materialization_id AND m.tenant_id = a.tenant_id
        WHERE a.tenant_id = $1 AND a.key = ANY($2::text[])`,
      [tenantId, unique],
    );
    return new Map(rows.map((r) => [r.key, { asset: toAssetView(r), latest: latestOf(r) }]));
  }

  async get(tenantId: string, key: string): Promise<AssetView | null> {
    return (await this.byKeys(tenantId, [key])).get(key) ?? null;
  }

  async require(tenantId: string, key: string, field = 'assetKey'): Promise<AssetView> {
    if (typeof key !== 'string' || key.length === 0) throw badInput(field, 'must not be empty');
    const asset = await this.get(tenantId, key);
    if (!asset) throw notFound(`Asset ${key}`);
    return asset;
  }

  /** Assets by key (ascending), filtered; `search` matches the key or the description. */
  async list(tenantId: string, args: AssetListArgs): Promise<ConnectionView<AssetView>> {
    const first = assertFirst('first', args.first, 50);
    const after = decodeCursor('after', args.after);
    const search = args.search?.trim() ? `%${escapeLike(args.search.trim())}%` : null;
    const where = `a.tenant_id = $1 AND ($2::text IS NULL OR a.namespace = $2) AND ($3::text IS NULL OR a.kind = $3)
      AND ($4::text IS NULL OR a.key ILIKE $4 OR a.description ILIKE $4)`;
    const params = [tenantId, args.namespace ?? null, args.kind ?? null, search];
    const [rows, count]: [AssetRow[], Array<{ n: number }>] = await Promise.all([
      this.ds.query(
        `SELECT ${ASSET_COLUMNS} FROM assets a WHERE ${where} AND ($5::text IS NULL OR a.key > $5)
          ORDER BY a.key LIMIT $6`,
        [...params, after, first + 1],
      ),
      this.ds.query(`SELECT count(*)::int AS n FROM assets a WHERE ${where}`, params),
    ]);
    return toConnection(rows.map(toAssetView), first, count[0]?.n ?? 0, (a) => encodeCursor(a.key), after !== null);
  }

  /** Create or update an asset's registry entry; absent fields are kept. */
  async register(tenantId: string, input: RegisterAssetArgs): Promise<AssetView> {
    assertAssetKey('input.key', input.key);
    const has = (k: keyof RegisterAssetArgs) =>
      Object.prototype.hasOwnProperty.call(input, k) && input[k] !== undefined;
    if (has('kind') && input.kind !== null && (typeof input.kind !== 'string' || input.kind.length > 64)) {
      throw badInput('input.kind', 'must be at most 64 characters');
    }
    if (has('description') && input.description !== null && String(input.description).length > 10_000) {
      throw badInput('input.description', 'must be at most 10,000 characters');
    }
    if (has('tags') && input.tags !== null && (typeof input.tags !== 'object' || Array.isArray(input.tags))) {
      throw badInput('input.tags', 'must be a JSON object (name → value)');
    }
    const tags = has('tags') && input.tags !== null ? JSON.stringify(input.tags) : null;
    if (tags !== null && Buffer.byteLength(tags) > 64 * 1024) throw badInput('input.tags', 'must be at most 64 KiB');
    const rows: AssetRow[] = await this.ds.query(
      `INSERT INTO assets AS a (tenant_id, key, kind, description, tags) VALUES ($1, $2, $3, $4, $5::jsonb)
       ON CONFLICT (tenant_id, key) DO UPDATE SET
         kind = CASE WHEN $6 THEN EXCLUDED.kind ELSE a.kind END,
         description = CASE WHEN $7 THEN EXCLUDED.description ELSE a.description END,
         tags = CASE WHEN $8 THEN EXCLUDED.tags ELSE a.tags END,
         updated_at = now()
       RETURNING ${ASSET_COLUMNS}`,
      [
        tenantId,
        input.key,
        input.kind ?? null,
        input.description ?? null,
        tags,
        has('kind'),
        has('description'),
        has('tags'),
      ],
    );
    const row = rows[0];
    if (!row) throw new Error(`registering ${input.key} returned no row`);
    return toAssetView(row);
  }

  /** Direct neighbours over the asset edge table: `up` = inputs of each key, `down` = derived from it. */
  async neighbours(tenantId: string, keys: readonly string[], direction: 'up' | 'down'): Promise<AssetView[][]> {
    if (!keys.length) return [];
    const [self, other] = direction === 'up' ? ['to_key', 'from_key'] : ['from_key', 'to_key'];
    const rows: Array<AssetRow & { ord: number }> = await this.ds.query(
      `SELECT r.ord::int AS ord, ${ASSET_COLUMNS}
         FROM unnest($2::text[]) WITH ORDINALITY AS r(k, ord)
         JOIN asset_edges e ON e.tenant_id = $1 AND e.${self} = r.k
         JOIN assets a ON a.tenant_id = $1 AND a.key = e.${other}
        ORDER BY r.ord, a.key`,
      [tenantId, keys],
    );
    const out: AssetView[][] = keys.map(() => []);
    for (const r of rows) out[r.ord - 1]?.push(toAssetView(r));
    return out;
  }

  /** Partitions (non-null partition keys) of several assets, by key, each with its latest materialization. */
  async partitionPages(
    tenantId: string,
    reqs: ReadonlyArray<{ assetKey: string; first: number; after: string | null }>,
  ): Promise<Array<ConnectionView<PartitionView>>> {
    const norm = reqs.map((r) => ({
      ...r,
      first: assertFirst('first', r.first, 100),
      after: decodeCursor('after', r.after),
    }));
    if (!norm.length) return [];
    const rows: Array<MaterializationRow & { ord: number; total: number; part: string | null }> = await this.ds.query(
      `SELECT r.ord::int AS ord, t.total, x.*
         FROM unnest($2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS r(k, n, after_key, ord)
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS total FROM asset_partition_latest pl
           WHERE pl.tenant_id = $1 AND pl.asset_key = r.k AND pl.partition_key IS NOT NULL
        ) t
         LEFT JOIN LATERAL (
          SELECT pl.partition_key AS part, ${MAT_COLUMNS}
            FROM asset_partition_latest pl JOIN materializations m ON m.id = pl.materialization_id
           WHERE pl.tenant_id = $1 AND pl.asset_key = r.k AND pl.partition_key IS NOT NULL
             AND (r.after_key IS NULL OR pl.partition_key > r.after_key)
           ORDER BY pl.partition_key LIMIT r.n + 1
        ) x ON true
        ORDER BY r.ord, x.part`,
      [tenantId, norm.map((r) => r.assetKey), norm.map((r) => r.first), norm.map((r) => r.after)],
    );
    const grouped = norm.map(() => ({ rows: [] as PartitionView[], total: 0 }));
    for (const r of rows) {
      const g = grouped[r.ord - 1];
      if (!g) continue;
      g.total = r.total;
      if (r.part != null) g.rows.push({ key: r.part, latest: toMaterializationView(r) });
    }
    return grouped.map((g, i) =>
      toConnection(g.rows, norm[i]?.first ?? 0, g.total, (p) => encodeCursor(p.key), norm[i]?.after != null),
    );
  }

  /** Materialization counts by asset over the last `sinceHours`, most active first. */
  async summary(tenantId: string, sinceHours: number, first: number): Promise<AssetSummaryView[]> {
    if (!Number.isInteger(sinceHours) || sinceHours < 1 || sinceHours > 24 * 366) {
      throw badInput('sinceHours', 'must be 1 to 8784 hours');
    }
    const n = assertFirst('first', first, 100);
    const rows: Array<{ key: string; kind: string | null; n: number; dags: number; last: Date | null }> =
      await this.ds.query(
        `SELECT m.asset_key AS key, a.kind, count(*)::int AS n, count(DISTINCT m.dag_id)::int AS dags,
                max(m.created_at) AS last
           FROM materializations m JOIN assets a ON a.tenant_id = m.tenant_id AND a.key = m.asset_key
          WHERE m.tenant_id = $1 AND m.created_at > now() - make_interval(hours => $2)
          GROUP BY m.asset_key, a.kind
          ORDER BY n DESC, m.asset_key
          LIMIT $3`,
        [tenantId, sinceHours, n],
      );
    return rows.map((r) => ({
      assetKey: r.key,
      kind: r.kind,
      materializationCount: r.n,
      dagCount: r.dags,
      lastMaterializedAt: r.last,
    }));
  }
}
