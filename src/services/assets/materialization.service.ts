import type { DataSource, EntityManager } from 'typeorm';
import { conflict } from '../../errors/domain-error';
import type { UpstreamAsset } from '../../core/executor-call';
import {
  isBigintId,
  MAT_COLUMNS,
  toMaterializationView,
  type MaterializationRow,
  type MaterializationView,
} from './asset-views';
import { MaterializationPagesService } from './materialization-pages.service';
import type { MaterializationReplayRepository, ReplayCopy } from '../../repositories/materialization-replay.repository';
import type { ServiceTxHandlers } from '../tx-events';
import {
  normalizeRecordInput,
  type NormalizedAsset,
  type RecordMaterializationsArgs,
} from './record-materializations.input';

export interface RecordHooks {
  /** Inside the recording transaction, before anything is written: throw to refuse the batch. */
  beforeRecord?: (manager: EntityManager, tenantId: string, input: RecordMaterializationsArgs) => Promise<void>;
  /** Inside the recording transaction, after the writes: only the rows this call created (no replays). */
  afterRecord?: (manager: EntityManager, tenantId: string, created: MaterializationView[]) => Promise<void>;
}

export interface RecordOutcome {
  materializations: MaterializationView[];
  alreadyRecorded: number;
}

const NO_PARTITION = '\u0001';
const identityOf = (key: string, version: string, partition: string | null): string =>
  `${key}\0${version}\0${partition ?? NO_PARTITION}`;

/** Immutable materializations: recording (one transaction per batch) and every read of them (lists inherited). */
export class MaterializationService extends MaterializationPagesService {
  /** Extra reactions set by tests; the app's own are the "materializations.*" tx handlers. */
  readonly hooks: RecordHooks = {};

  constructor(
    ds: DataSource,
    private readonly handlers?: ServiceTxHandlers,
    private readonly replays?: MaterializationReplayRepository,
  ) {
    super(ds);
  }

  /**
   * Cache hits (DESIGN.md "Memoised execution"): each source try's materializations
   * recorded again for its hit's DAG node and try, in the caller's transaction and in one
   * statement for the batch (same versions and upstream refs; an existing identity is an
   * idempotent replay), with their ASSET_MATERIALIZED events. The hits' attempts are
   * current (their keys were just stored under their leases), so the recording fence holds.
   */
  async replay(m: EntityManager, copies: ReplayCopy[]): Promise<void> {
    if (!this.replays) throw new Error('materialization replays are not configured');
    const rows = await this.replays.replay(m, copies);
    const byTenant = new Map<string, MaterializationView[]>();
    for (const r of rows)
      (byTenant.get(r.tenant_id) ?? byTenant.set(r.tenant_id, []).get(r.tenant_id)!).push(toMaterializationView(r));
    for (const [tenantId, created] of byTenant)
      await this.handlers?.run('materializations.recorded', m, { tenantId, created });
  }

  /**
   * Record a batch: all or nothing, a fixed number of statements whatever its size
   * (unnest arrays). Replays of an identical (asset, version, partition, dag, node)
   * return the existing row and count in `alreadyRecorded`; another checksum is CONFLICT.
   * With `opts.manager` it runs inside the caller's transaction.
   */
  async record(
    tenantId: string,
    input: RecordMaterializationsArgs,
    opts: { manager?: EntityManager } = {},
  ): Promise<RecordOutcome> {
    const batch = normalizeRecordInput(input);
    const run = async (m: EntityManager): Promise<RecordOutcome> => {
      await this.handlers?.run('materializations.recording', m, { tenantId, input });
      await this.hooks.beforeRecord?.(m, tenantId, input);
      if (batch.assets.length === 0) return { materializations: [], alreadyRecorded: 0 };
      const A = batch.assets;

      // The registry: every recorded and every upstream key exists (sorted: a fixed lock order).
      // Existing rows are not locked (DO NOTHING), so batches on the same assets do not queue here;
      // a kind is filled in only where the registry has none.
      const kinds = new Map<string, string | null>();
      for (const a of A) if (!kinds.get(a.assetKey)) kinds.set(a.assetKey, a.kind);
      for (const u of batch.upstream) if (!kinds.has(u.assetKey)) kinds.set(u.assetKey, null);
      const keys = [...kinds.keys()].sort();
      await m.query(
        `INSERT INTO assets (tenant_id, key, kind)
         SELECT $1, u.k, u.kind FROM unnest($2::text[], $3::text[]) AS u(k, kind) ORDER BY u.k
         ON CONFLICT (tenant_id, key) DO NOTHING`,
        [tenantId, keys, keys.map((k) => kinds.get(k) ?? null)],
      );
      const withKind = keys.filter((k) => kinds.get(k));
      if (withKind.length) {
        await m.query(
          `UPDATE assets a SET kind = u.kind, updated_at = now()
             FROM unnest($2::text[], $3::text[]) AS u(k, kind)
            WHERE a.tenant_id = $1 AND a.key = u.k AND a.kind IS NULL`,
          [tenantId, withKind, withKind.map((k) => kinds.get(k) ?? null)],
        );
      }

      const inserted: MaterializationRow[] = await m.query(
        `INSERT INTO materializations AS m (tenant_id, asset_key, version, partition_key, job_id, try_number,
             dag_id, node_task_id, storage_event_id, kind, size_bytes, checksum, uri, metadata,
             code_fingerprint, prompt_fingerprint)
         SELECT $1, u.asset_key, u.version, u.partition_key, $2, $3, $4, $5, $6, u.kind, u.size_bytes::bigint,
                u.checksum, u.uri, u.metadata::jsonb, u.code_fp, u.prompt_fp
           FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                       $14::text[], $15::text[], $16::text[])
                WITH ORDINALITY AS u(asset_key, version, partition_key, kind, size_bytes, checksum, uri, metadata,
                                     code_fp, prompt_fp, ord)
          ORDER BY u.ord
         ON CONFLICT ON CONSTRAINT materializations_identity_key DO NOTHING
         RETURNING ${MAT_COLUMNS}`,
        [
          tenantId,
          batch.jobId,
          batch.tryNumber,
          batch.dagId,
          batch.nodeTaskId,
          batch.storageEventId,
          A.map((a) => a.assetKey),
          A.map((a) => a.version),
          A.map((a) => a.partitionKey),
          A.map((a) => a.kind),
          A.map((a) => a.sizeBytes),
          A.map((a) => a.checksum),
          A.map((a) => a.uri),
          A.map((a) => a.metadata),
          A.map((a) => a.codeFingerprint),
          A.map((a) => a.promptFingerprint),
        ],
      );
      const byIdentity = new Map<string, MaterializationView>();
      for (const r of inserted) {
        byIdentity.set(identityOf(r.asset_key, r.version, r.partition_key), toMaterializationView(r));
      }
      const created = [...byIdentity.values()];
      const replayed = A.filter((a) => !byIdentity.has(identityOf(a.assetKey, a.version, a.partitionKey)));
      if (replayed.length) await this.resolveReplays(m, tenantId, batch.dagId, batch.nodeTaskId, replayed, byIdentity);

      if (created.length && batch.upstream.length) {
        const U = batch.upstream;
        await m.query(
          `INSERT INTO materialization_lineage
             (tenant_id, materialization_id, upstream_asset_key, upstream_version, upstream_partition_key)
           SELECT $1, n.id, u.k, u.v, u.p
             FROM unnest($2::bigint[]) AS n(id)
            CROSS JOIN unnest($3::text[], $4::text[], $5::text[]) AS u(k, v, p)
           ON CONFLICT ON CONSTRAINT materialization_lineage_key DO NOTHING`,
          [
            tenantId,
            created.map((c) => c.id),
            U.map((u) => u.assetKey),
            U.map((u) => u.version),
            U.map((u) => u.partitionKey),
          ],
        );
        const to = [...new Set(A.map((a) => a.assetKey))];
        const from = [...new Set(U.map((u) => u.assetKey))];
        await m.query(
          `INSERT INTO asset_edges (tenant_id, from_key, to_key)
           SELECT DISTINCT $1::uuid, f.k, t.k FROM unnest($2::text[]) AS f(k) CROSS JOIN unnest($3::text[]) AS t(k)
            ORDER BY 2, 3
           ON CONFLICT DO NOTHING`,
          [tenantId, from, to],
        );
      }

      if (created.length) {
        // Latest pointers move only forward (a higher id), per asset and per (asset, partition).
        const perAsset = new Map<string, bigint>();
        const perPartition = new Map<string, { key: string; partition: string | null; id: bigint }>();
        for (const c of created) {
          const id = BigInt(c.id);
          if ((perAsset.get(c.assetKey) ?? -1n) < id) perAsset.set(c.assetKey, id);
          const pk = `${c.assetKey}\0${c.partitionKey ?? NO_PARTITION}`;
          if ((perPartition.get(pk)?.id ?? -1n) < id) {
            perPartition.set(pk, { key: c.assetKey, partition: c.partitionKey, id });
          }
        }
        const assetRows = [...perAsset.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        await m.query(
          `INSERT INTO asset_latest AS l (tenant_id, asset_key, materialization_id)
           SELECT $1, u.k, u.id FROM unnest($2::text[], $3::bigint[]) AS u(k, id)
           ON CONFLICT (tenant_id, asset_key) DO UPDATE SET materialization_id = EXCLUDED.materialization_id
             WHERE l.materialization_id < EXCLUDED.materialization_id`,
          [tenantId, assetRows.map(([k]) => k), assetRows.map(([, id]) => id.toString())],
        );
        const partRows = [...perPartition.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
        await m.query(
          `INSERT INTO asset_partition_latest AS l (tenant_id, asset_key, partition_key, materialization_id)
           SELECT $1, u.k, u.p, u.id FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(k, p, id)
           ON CONFLICT ON CONSTRAINT asset_partition_latest_key
             DO UPDATE SET materialization_id = EXCLUDED.materialization_id
             WHERE l.materialization_id < EXCLUDED.materialization_id`,
          [
            tenantId,
            partRows.map((r) => r.key),
            partRows.map((r) => r.partition),
            partRows.map((r) => r.id.toString()),
          ],
        );
      }

      if (created.length) await this.handlers?.run('materializations.recorded', m, { tenantId, created });
      if (created.length) await this.hooks.afterRecord?.(m, tenantId, created);
      const materializations = A.map((a) => {
        const v = byIdentity.get(identityOf(a.assetKey, a.version, a.partitionKey));
        if (!v) throw new Error(`materialization of ${a.assetKey} neither written nor found`);
        return v;
      });
      return { materializations, alreadyRecorded: replayed.length };
    };
    return opts.manager ? run(opts.manager) : this.ds.transaction(run);
  }

  /** The rows an idempotent replay names; another checksum for the same identity is CONFLICT. */
  private async resolveReplays(
    m: EntityManager,
    tenantId: string,
    dagId: string | null,
    nodeTaskId: string | null,
    replayed: NormalizedAsset[],
    into: Map<string, MaterializationView>,
  ): Promise<void> {
    const rows: MaterializationRow[] = await m.query(
      `SELECT ${MAT_COLUMNS}
         FROM unnest($2::text[], $3::text[], $4::text[]) AS u(k, v, p)
         JOIN materializations m ON m.tenant_id = $1 AND m.asset_key = u.k AND m.version = u.v
          AND m.partition_key IS NOT DISTINCT FROM u.p
          AND m.dag_id IS NOT DISTINCT FROM $5 AND m.node_task_id IS NOT DISTINCT FROM $6`,
      [
        tenantId,
        replayed.map((a) => a.assetKey),
        replayed.map((a) => a.version),
        replayed.map((a) => a.partitionKey),
        dagId,
        nodeTaskId,
      ],
    );
    const existing = new Map(rows.map((r) => [identityOf(r.asset_key, r.version, r.partition_key), r]));
    for (const a of replayed) {
      const id = identityOf(a.assetKey, a.version, a.partitionKey);
      const row = existing.get(id);
      if (!row) throw new Error(`materialization of ${a.assetKey} conflicted but is not visible`);
      if ((row.checksum ?? null) !== (a.checksum ?? null)) {
        throw conflict(
          `input.assets[${a.index}]: ${a.assetKey} version ${a.version} was already recorded for this DAG node with another checksum`,
          { field: `input.assets[${a.index}].checksum` },
        );
      }
      into.set(id, toMaterializationView(row));
    }
  }

  async byIds(tenantId: string, ids: readonly string[]): Promise<Map<string, MaterializationView>> {
    const valid = [...new Set(ids.filter(isBigintId))];
    if (!valid.length) return new Map();
    const rows: MaterializationRow[] = await this.ds.query(
      `SELECT ${MAT_COLUMNS} FROM materializations m WHERE m.tenant_id = $1 AND m.id = ANY($2::bigint[])`,
      [tenantId, valid],
    );
    return new Map(rows.map((r) => [String(r.id), toMaterializationView(r)]));
  }

  async byId(tenantId: string, id: string): Promise<MaterializationView | null> {
    return (await this.byIds(tenantId, [id])).get(id) ?? null;
  }

  /**
   * The cache look-up: the latest materialization of exactly this version; with a
   * partitionKey in that partition, without one in any partition.
   */
  async byVersion(
    tenantId: string,
    assetKey: string,
    version: string,
    partitionKey: string | null | undefined,
  ): Promise<MaterializationView | null> {
    const rows: MaterializationRow[] = await this.ds.query(
      `SELECT ${MAT_COLUMNS} FROM materializations m
        WHERE m.tenant_id = $1 AND m.asset_key = $2 AND m.version = $3 AND ($4::text IS NULL OR m.partition_key = $4)
        ORDER BY m.id DESC LIMIT 1`,
      [tenantId, assetKey, version, partitionKey ?? null],
    );
    return rows[0] ? toMaterializationView(rows[0]) : null;
  }

  /**
   * Latest materialization per requested (asset, partition): a null partition asks for the
   * asset's latest across partitions. Keys are `${assetKey}\0${partitionKey}` or just the
   * asset key for the overall latest.
   */
  async latest(
    tenantId: string,
    requests: ReadonlyArray<{ assetKey: string; partitionKey: string | null }>,
  ): Promise<Array<MaterializationView | null>> {
    if (!requests.length) return [];
    const rows: Array<MaterializationRow & { ord: number }> = await this.ds.query(
      `SELECT r.ord::int AS ord, ${MAT_COLUMNS}
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS r(k, p, ord)
         JOIN LATERAL (
           SELECT materialization_id FROM asset_latest l
            WHERE r.p IS NULL AND l.tenant_id = $1 AND l.asset_key = r.k
           UNION ALL
           SELECT materialization_id FROM asset_partition_latest pl
            WHERE r.p IS NOT NULL AND pl.tenant_id = $1 AND pl.asset_key = r.k AND pl.partition_key = r.p
         ) x ON true
         JOIN materializations m ON m.id = x.materialization_id AND m.tenant_id = $1`,
      [tenantId, requests.map((r) => r.assetKey), requests.map((r) => r.partitionKey)],
    );
    const out: Array<MaterializationView | null> = requests.map(() => null);
    for (const r of rows) out[r.ord - 1] = toMaterializationView(r);
    return out;
  }

  /** The latest materialization per (asset, partition) that each of these nodes recorded in this DAG. */
  async latestForUpstreamNodes(tenantId: string, dagId: string, nodeTaskIds: string[]): Promise<UpstreamAsset[]> {
    if (!nodeTaskIds.length) return [];
    const rows: Array<{
      asset_key: string;
      version: string;
      partition_key: string | null;
      uri: string | null;
      node_task_id: string;
    }> = await this.ds.query(
      `SELECT DISTINCT ON (m.node_task_id, m.asset_key, m.partition_key)
              m.asset_key, m.version, m.partition_key, m.uri, m.node_task_id
         FROM materializations m
        WHERE m.tenant_id = $1 AND m.dag_id = $2 AND m.node_task_id = ANY($3::text[])
        ORDER BY m.node_task_id, m.asset_key, m.partition_key, m.id DESC`,
      [tenantId, dagId, nodeTaskIds],
    );
    return rows.map((r) => ({
      assetKey: r.asset_key,
      version: r.version,
      partitionKey: r.partition_key,
      uri: r.uri,
      nodeTaskId: r.node_task_id,
    }));
  }
}
