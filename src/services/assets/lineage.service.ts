import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/config';
import { badInput, notFound } from '../../errors/domain-error';
import type { AssetService } from './asset.service';
import { ASSET_KEY, type LineageRefView, type StaleReasonView } from './asset-views';
import type { MaterializationService } from './materialization.service';

export type LineageDirectionName = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';

export interface LineageGraphView {
  assetKey: string;
  direction: LineageDirectionName;
  depth: number;
  nodes: Array<{ assetKey: string; distance: number }>;
  edges: Array<{ fromAssetKey: string; toAssetKey: string }>;
  upstream: LineageRefView[];
  /** Computed only when asked for (GraphQL's default resolver calls it) unless the walk went downstream anyway. */
  downstream: string[] | (() => Promise<string[]>);
  truncated: boolean;
}

export interface ImpactReportView {
  assetKey: string;
  downstreamAssets: string[];
  downstreamCount: number;
  recentJobCount: number;
  recentDagCount: number;
  affectedMaterializations: number;
}

interface WalkResult {
  up: Map<string, number>;
  down: Map<string, number>;
  upEdges: Map<string, { fromAssetKey: string; toAssetKey: string }>;
  downEdges: Map<string, { fromAssetKey: string; toAssetKey: string }>;
  truncated: boolean;
}

interface ClosureEdge {
  upKey: string;
  usedVersion: string;
  upId: string | null;
  latestVersion: string | null;
}

interface ClosureNode {
  assetKey: string;
  version: string;
  codeChangedVersion: string | null;
  edges: ClosureEdge[];
}

export const MAX_LINEAGE_DEPTH = 50;

/** Walks of the asset graph, staleness of materializations and impact analysis. */
export class LineageService {
  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly assets: AssetService,
    private readonly materializations: MaterializationService,
  ) {}

  /**
   * Breadth-first over the deduplicated edge table, one statement per hop (both directions
   * at once), each asset visited once, so cycles are harmless. `truncated` when one more hop
   * finds an asset not yet seen, or the node cap stopped the walk.
   */
  private async walk(tenantId: string, root: string, wantUp: boolean, wantDown: boolean, depth: number) {
    const cap = this.config.lineageNodeCap;
    const r: WalkResult = {
      up: new Map([[root, 0]]),
      down: new Map([[root, 0]]),
      upEdges: new Map(),
      downEdges: new Map(),
      truncated: false,
    };
    const all = new Set([root]);
    let upFrontier = wantUp ? [root] : [];
    let downFrontier = wantDown ? [root] : [];
    for (let hop = 1; hop <= depth + 1 && (upFrontier.length || downFrontier.length); hop += 1) {
      const probe = hop === depth + 1;
      const rows: Array<{ dir: 'u' | 'd'; cur: string; next: string }> = await this.ds.query(
        `SELECT 'u' AS dir, e.to_key AS cur, e.from_key AS next FROM asset_edges e
          WHERE e.tenant_id = $1 AND e.to_key = ANY($2::text[])
         UNION ALL
         SELECT 'd', e.from_key, e.to_key FROM asset_edges e
          WHERE e.tenant_id = $1 AND e.from_key = ANY($3::text[])`,
        [tenantId, upFrontier, downFrontier],
      );
      const nextUp: string[] = [];
      const nextDown: string[] = [];
      for (const row of rows) {
        const isUp = row.dir === 'u';
        const seen = isUp ? r.up : r.down;
        if (!seen.has(row.next)) {
          if (probe) {
            r.truncated = true;
            continue;
          }
          if (!all.has(row.next) && all.size >= cap) {
            r.truncated = true;
            continue;
          }
          all.add(row.next);
          seen.set(row.next, hop);
          (isUp ? nextUp : nextDown).push(row.next);
        }
        if (probe) continue;
        const edge = isUp
          ? { fromAssetKey: row.next, toAssetKey: row.cur }
          : { fromAssetKey: row.cur, toAssetKey: row.next };
        (isUp ? r.upEdges : r.downEdges).set(`${edge.fromAssetKey}\0${edge.toAssetKey}`, edge);
      }
      upFrontier = nextUp;
      downFrontier = nextDown;
    }
    return r;
  }

  async lineage(
    tenantId: string,
    assetKey: string,
    direction: LineageDirectionName = 'UPSTREAM',
    depth = 10,
  ): Promise<LineageGraphView> {
    if (!Number.isInteger(depth) || depth < 1 || depth > MAX_LINEAGE_DEPTH) {
      throw badInput('depth', `must be 1 to ${MAX_LINEAGE_DEPTH}`);
    }
    if (!ASSET_KEY.test(assetKey) || !(await this.assets.get(tenantId, assetKey))) throw notFound(`Asset ${assetKey}`);
    const wantUp = direction !== 'DOWNSTREAM';
    const wantDown = direction !== 'UPSTREAM';
    // The downstream list is part of every answer, but an UPSTREAM walk only pays for it
    // when the client selects it.
    const w = await this.walk(tenantId, assetKey, wantUp, wantDown, depth);
    const nodes = new Map<string, number>();
    const edges = new Map<string, { fromAssetKey: string; toAssetKey: string }>();
    if (direction !== 'UPSTREAM') {
      for (const [k, d] of w.down) nodes.set(k, d);
      for (const [k, e] of w.downEdges) edges.set(k, e);
    }
    if (wantUp) {
      for (const [k, d] of w.up) if (!nodes.has(k) || (nodes.get(k) ?? 0) >= d) nodes.set(k, -d);
      for (const [k, e] of w.upEdges) edges.set(k, e);
    }
    nodes.set(assetKey, 0);
    const latest = (await this.materializations.latest(tenantId, [{ assetKey, partitionKey: null }]))[0];
    const upstream = latest
      ? ((await this.materializations.upstreamRefs(tenantId, [latest.id])).get(latest.id) ?? [])
      : [];
    const byDistance = (a: [string, number], b: [string, number]) =>
      Math.abs(a[1]) - Math.abs(b[1]) || a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    const downstreamKeys = (down: Map<string, number>) =>
      [...down.entries()]
        .filter(([k]) => k !== assetKey)
        .sort(byDistance)
        .map(([k]) => k);
    return {
      assetKey,
      direction,
      depth,
      nodes: [...nodes.entries()].sort(byDistance).map(([k, distance]) => ({ assetKey: k, distance })),
      edges: [...edges.values()].sort((a, b) =>
        a.fromAssetKey === b.fromAssetKey
          ? a.toAssetKey.localeCompare(b.toAssetKey)
          : a.fromAssetKey.localeCompare(b.fromAssetKey),
      ),
      upstream,
      downstream: wantDown
        ? downstreamKeys(w.down)
        : async () => downstreamKeys((await this.walk(tenantId, assetKey, false, true, depth)).down),
      truncated: w.truncated,
    };
  }

  async impact(tenantId: string, assetKey: string): Promise<ImpactReportView> {
    if (!ASSET_KEY.test(assetKey) || !(await this.assets.get(tenantId, assetKey))) throw notFound(`Asset ${assetKey}`);
    const w = await this.walk(tenantId, assetKey, false, true, Number.MAX_SAFE_INTEGER - 1);
    const downstreamAssets = [...w.down.keys()].filter((k) => k !== assetKey).sort();
    const [recent]: Array<{ jobs: number; dags: number }> = await this.ds.query(
      `SELECT count(DISTINCT job_id)::int AS jobs, count(DISTINCT dag_id)::int AS dags FROM materializations
        WHERE tenant_id = $1 AND asset_key = $2 AND created_at > now() - interval '24 hours'`,
      [tenantId, assetKey],
    );
    let affected = 0;
    if (downstreamAssets.length) {
      const latest: Array<{ id: string }> = await this.ds.query(
        `SELECT materialization_id::text AS id FROM asset_partition_latest
          WHERE tenant_id = $1 AND asset_key = ANY($2::text[])`,
        [tenantId, downstreamAssets],
      );
      const ids = latest.map((l) => l.id);
      const closure = await this.closure(tenantId, ids);
      const stale = this.staleFrom(closure);
      const depends = new Map<string, boolean>();
      const dependsOn = (id: string, stack: Set<string>): boolean => {
        const known = depends.get(id);
        if (known !== undefined) return known;
        if (stack.has(id)) return false;
        stack.add(id);
        const node = closure.get(id);
        const result =
          !!node && node.edges.some((e) => e.upKey === assetKey || (e.upId !== null && dependsOn(e.upId, stack)));
        stack.delete(id);
        depends.set(id, result);
        return result;
      };
      for (const id of ids) if (!(stale.get(id)?.length ?? 0) && dependsOn(id, new Set())) affected += 1;
    }
    return {
      assetKey,
      downstreamAssets,
      downstreamCount: downstreamAssets.length,
      recentJobCount: recent?.jobs ?? 0,
      recentDagCount: recent?.dags ?? 0,
      affectedMaterializations: affected,
    };
  }

  /** Why each materialization is stale (empty: it is not), in one statement for the whole batch. */
  async staleReasons(tenantId: string, ids: readonly string[]): Promise<Map<string, StaleReasonView[]>> {
    const closure = await this.closure(tenantId, ids);
    const all = this.staleFrom(closure);
    return new Map(ids.map((id) => [id, all.get(id) ?? []]));
  }

  /** The materializations named and every input materialization behind them, transitively. */
  private async closure(tenantId: string, ids: readonly string[]): Promise<Map<string, ClosureNode>> {
    const valid = [...new Set(ids.filter((id) => /^\d{1,18}$/.test(id)))];
    const out = new Map<string, ClosureNode>();
    if (!valid.length) return out;
    const resolve = `SELECT um.id FROM materializations um
       WHERE um.tenant_id = $1 AND um.asset_key = l.upstream_asset_key AND um.version = l.upstream_version
         AND um.partition_key IS NOT DISTINCT FROM l.upstream_partition_key
       ORDER BY um.id DESC LIMIT 1`;
    const rows: Array<{
      id: string;
      asset_key: string;
      version: string;
      code_changed_version: string | null;
      up_key: string | null;
      used_version: string | null;
      up_id: string | null;
      latest_version: string | null;
    }> = await this.ds.query(
      `WITH RECURSIVE walk(id) AS (
         SELECT m.id FROM materializations m WHERE m.tenant_id = $1 AND m.id = ANY($2::bigint[])
         UNION
         SELECT p.id FROM walk w
           JOIN materialization_lineage l ON l.tenant_id = $1 AND l.materialization_id = w.id
           JOIN LATERAL (${resolve}) p ON true
       )
       SELECT w.id::text AS id, m.asset_key, m.version, cc.version AS code_changed_version,
              l.upstream_asset_key AS up_key, l.upstream_version AS used_version, up.id::text AS up_id,
              lm.version AS latest_version
         FROM walk w
         JOIN materializations m ON m.id = w.id
         LEFT JOIN LATERAL (
           SELECT n.version FROM materializations n
            WHERE n.tenant_id = $1 AND n.asset_key = m.asset_key AND n.id > m.id
              AND (n.code_fingerprint IS DISTINCT FROM m.code_fingerprint
                   OR n.prompt_fingerprint IS DISTINCT FROM m.prompt_fingerprint)
            ORDER BY n.id DESC LIMIT 1
         ) cc ON true
         LEFT JOIN materialization_lineage l ON l.tenant_id = $1 AND l.materialization_id = w.id
         LEFT JOIN LATERAL (${resolve}) up ON l.id IS NOT NULL
         LEFT JOIN asset_partition_latest pl ON pl.tenant_id = $1 AND pl.asset_key = l.upstream_asset_key
              AND pl.partition_key IS NOT DISTINCT FROM l.upstream_partition_key
         LEFT JOIN materializations lm ON lm.id = pl.materialization_id
        ORDER BY w.id, l.upstream_asset_key, l.upstream_version`,
      [tenantId, valid],
    );
    for (const r of rows) {
      let node = out.get(r.id);
      if (!node) {
        node = { assetKey: r.asset_key, version: r.version, codeChangedVersion: r.code_changed_version, edges: [] };
        out.set(r.id, node);
      }
      if (r.up_key !== null && r.used_version !== null) {
        node.edges.push({
          upKey: r.up_key,
          usedVersion: r.used_version,
          upId: r.up_id,
          latestVersion: r.latest_version,
        });
      }
    }
    return out;
  }

  /** Reasons for every node of a closure; an input caught in a cycle with its user counts as not stale. */
  private staleFrom(closure: Map<string, ClosureNode>): Map<string, StaleReasonView[]> {
    const memo = new Map<string, StaleReasonView[]>();
    const visit = (id: string, stack: Set<string>): StaleReasonView[] => {
      const known = memo.get(id);
      if (known) return known;
      const node = closure.get(id);
      if (!node || stack.has(id)) return [];
      stack.add(id);
      const reasons: StaleReasonView[] = [];
      for (const e of node.edges) {
        if (e.latestVersion !== null && e.latestVersion !== e.usedVersion) {
          reasons.push({
            cause: 'UPSTREAM_CHANGED',
            assetKey: e.upKey,
            usedVersion: e.usedVersion,
            latestVersion: e.latestVersion,
          });
        }
        if (e.upId !== null && e.upId !== id && visit(e.upId, stack).length) {
          reasons.push({
            cause: 'UPSTREAM_STALE',
            assetKey: e.upKey,
            usedVersion: e.usedVersion,
            latestVersion: e.latestVersion,
          });
        }
      }
      if (node.codeChangedVersion !== null) {
        reasons.push({
          cause: 'CODE_CHANGED',
          assetKey: node.assetKey,
          usedVersion: node.version,
          latestVersion: node.codeChangedVersion,
        });
      }
      stack.delete(id);
      memo.set(id, reasons);
      return reasons;
    };
    for (const id of closure.keys()) visit(id, new Set());
    return memo;
  }
}
