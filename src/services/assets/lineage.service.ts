import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/config';
import { badInput, notFound } from '../../errors/domain-error';
import { assertFirst, decodeCursorKey, encodeCursor, type PageInfoView } from '../../lib/pagination';
import type { AssetGraphRepository, GraphWalk, LineageEdgeRow } from '../../repositories/asset-graph.repository';
import type { AssetService } from './asset.service';
import { ASSET_KEY, type LineageRefView, type StaleReasonView } from './asset-views';
import { LineageGraphCache } from './lineage-graph-cache';
import type { MaterializationService } from './materialization.service';

export type LineageDirectionName = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';

export interface LineageGraphView {
  assetKey: string;
  direction: LineageDirectionName;
  depth: number;
  nodes: Array<{ assetKey: string; distance: number }>;
  edges: LineageEdgeRow[];
  /** Read only when asked for, as `downstream` (a field resolver calls them). */
  upstream: () => Promise<LineageRefView[]>;
  downstream: () => Promise<string[]>;
  truncated: boolean;
  totalNodes: number;
  pageInfo: PageInfoView;
}

export interface ImpactReportView {
  assetKey: string;
  downstreamAssets: string[];
  downstreamCount: number;
  recentJobCount: number;
  recentDagCount: number;
  affectedMaterializations: number;
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
/** The most nodes one lineage page may hold (the default node cap: a page can hold a whole walk). */
export const MAX_LINEAGE_FIRST = 10_000;
/** A walk to the end of the graph (impact): deeper than any path the node cap lets through. */
const UNBOUNDED_DEPTH = 1_000_000;

/** The cursor of a lineage node: its (|distance|, key). */
const nodeCursor = (key: string, distance: number): string => encodeCursor(String(Math.abs(distance)), key);

/** Walks of the asset graph, staleness of materializations and impact analysis. */
export class LineageService {
  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly assets: AssetService,
    private readonly materializations: MaterializationService,
    private readonly graph: AssetGraphRepository,
  ) {
    this.graphs = new LineageGraphCache(ds, graph, config.lineageGraphCacheEdges);
  }

  private readonly graphs: LineageGraphCache;

  /**
   * One page of a walk of the asset graph: in memory over the tenant's graph when this
   * process holds it (LineageGraphCache), else in one statement (AssetGraphRepository).
   * Both answer the same.
   */
  private async walk(tenantId: string, w: Omit<GraphWalk, 'cap'>) {
    const walk = { ...w, cap: this.config.lineageNodeCap };
    return (await this.graphs.page(tenantId, walk)) ?? this.graph.walk(this.ds, tenantId, walk);
  }

  /**
   * Reads the tenant's asset graph into this process now, if it holds no up-to-date copy
   * (walks read it in the background on their own; this is for callers that want the next
   * walk in memory, such as tests and warm-up).
   */
  warmGraph(tenantId: string): Promise<void> {
    return this.graphs.warm(tenantId);
  }

  /** Every key downstream of `root` within `depth` (the root excluded), nearest first, then by key. */
  private async downstreamKeys(tenantId: string, root: string, depth: number): Promise<string[]> {
    const all = await this.walk(tenantId, {
      root,
      up: false,
      down: true,
      depth,
      after: null,
      first: this.config.lineageNodeCap,
      edges: false,
    });
    return all.nodes.filter(([k]) => k !== root).map(([k]) => k);
  }

  /** The inputs recorded with the asset's latest materialization (none when it has none). */
  private async upstreamRefs(tenantId: string, assetKey: string): Promise<LineageRefView[]> {
    const latest = (await this.materializations.latest(tenantId, [{ assetKey, partitionKey: null }]))[0];
    return latest ? ((await this.materializations.upstreamRefs(tenantId, [latest.id])).get(latest.id) ?? []) : [];
  }

  /**
   * One page of the asset graph around `assetKey`: nodes in order of |distance|, then key;
   * the page's edges are those among its nodes and the nodes of earlier pages. The walk,
   * the page and its edges are one recursive statement.
   */
  async lineage(
    tenantId: string,
    assetKey: string,
    direction: LineageDirectionName = 'UPSTREAM',
    depth = 10,
    first: number | null = 500,
    after: string | null = null,
  ): Promise<LineageGraphView> {
    if (!Number.isInteger(depth) || depth < 1 || depth > MAX_LINEAGE_DEPTH) {
      throw badInput('depth', `must be 1 to ${MAX_LINEAGE_DEPTH}`);
    }
    const n = assertFirst('first', first, 500, MAX_LINEAGE_FIRST);
    const cursor = decodeCursorKey('after', after, 2);
    let from: [number, string] | null = null;
    if (cursor) {
      const [d, k] = cursor as [string, string];
      if (!/^\d{1,2}$/.test(d) || !ASSET_KEY.test(k)) throw badInput('after', 'not a cursor this query gave');
      from = [Number(d), k];
    }
    if (!ASSET_KEY.test(assetKey)) throw notFound(`Asset ${assetKey}`);
    const page = await this.walk(tenantId, {
      root: assetKey,
      up: direction !== 'DOWNSTREAM',
      down: direction !== 'UPSTREAM',
      depth,
      after: from,
      first: n,
      edges: true,
    });
    if (!page.found) throw notFound(`Asset ${assetKey}`);
    const first_ = page.nodes[0];
    const last = page.nodes[page.nodes.length - 1];
    return {
      assetKey,
      direction,
      depth,
      nodes: page.nodes.map(([k, distance]) => ({ assetKey: k, distance })),
      edges: page.edges,
      upstream: () => this.upstreamRefs(tenantId, assetKey),
      downstream: () => this.downstreamKeys(tenantId, assetKey, depth),
      truncated: page.truncated,
      totalNodes: page.total,
      pageInfo: {
        hasNextPage: page.before + page.nodes.length < page.total,
        hasPreviousPage: page.before > 0,
        startCursor: first_ ? nodeCursor(...first_) : null,
        endCursor: last ? nodeCursor(...last) : null,
      },
    };
  }

  async impact(tenantId: string, assetKey: string): Promise<ImpactReportView> {
    if (!ASSET_KEY.test(assetKey) || !(await this.assets.get(tenantId, assetKey))) throw notFound(`Asset ${assetKey}`);
    const downstreamAssets = (await this.downstreamKeys(tenantId, assetKey, UNBOUNDED_DEPTH)).sort();
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
