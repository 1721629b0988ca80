import { rows as sqlRows, type SqlRunner } from '../db/sql';

/** A bounded walk of the asset graph from one root, and the page of it to return. */
export interface GraphWalk {
  root: string;
  /** The directions to walk (at least one). */
  up: boolean;
  down: boolean;
  depth: number;
  /** The most nodes one walk may hold (each direction stops there; their union is cut to it). */
  cap: number;
  /** Where the page starts: after this (|distance|, key); null: at the root. */
  after: [number, string] | null;
  first: number;
  /** Whether to return the page's edges. */
  edges: boolean;
}

/** One page of a walk. */
export interface GraphPage {
  /** Whether the root is a registered asset (when not, the rest means nothing). */
  found: boolean;
  /** Nodes within depth (after the cap), whatever the page. */
  total: number;
  /** How many of them come before the page. */
  before: number;
  /** Something lies one hop beyond depth, or the cap cut the walk. */
  truncated: boolean;
  /** [key, distance] in (|distance|, key) order: negative upstream, positive downstream. */
  nodes: Array<[string, number]>;
  /** By from, then to: the edges among the page's nodes and those of earlier pages, at least one end in the page. */
  edges: LineageEdgeRow[];
}

/** An edge of a page, in the shape the API answers it (pages hold tens of thousands: no copy). */
export interface LineageEdgeRow {
  fromAssetKey: string;
  toAssetKey: string;
}

/**
 * One direction of the walk: breadth first, each iteration one row holding the frontier
 * (the keys first reached at that distance) and every key seen so far, so a key is
 * expanded once (cycles are harmless) and the work is one index probe per node and edge,
 * not one per path as with a `UNION` over (node, depth). A frontier that would pass the
 * cap is cut (in key order, so pages of the same walk agree) and the walk ends there;
 * the iteration after `depth` keeps nothing and only says whether anything lies beyond
 * (`cut`, as for the cap).
 */
const direction = (name: string, near: string, far: string) => `
  ${name}(d, frontier, seen, cut) AS (
    SELECT 0, ARRAY[$2::text], ARRAY[$2::text], false
    UNION ALL
    SELECT w.d + 1, n.keys[1:room], w.seen || n.keys[1:room], cardinality(n.keys) > room
      FROM ${name} w
      CROSS JOIN LATERAL (SELECT CASE WHEN w.d < $3::int THEN $4::int - cardinality(w.seen) ELSE 0 END AS room) r
      CROSS JOIN LATERAL (
        SELECT coalesce(array_agg(x.k ORDER BY x.k COLLATE "C"), '{}') AS keys FROM (
          SELECT e.${far} FROM asset_edges e WHERE e.tenant_id = $1 AND e.${near} = ANY(w.frontier)
          EXCEPT SELECT unnest(w.seen)) x(k)
      ) n
     WHERE w.d <= $3::int AND cardinality(w.frontier) > 0 AND NOT w.cut
  )`;

/**
 * The walk (the directions asked for), its nodes ranked by (|distance|, key), the page
 * after the cursor ($5, $6) and the page's edges (when $8). A key reached both ways keeps
 * its nearer distance, upstream on a tie: `o = 2·|d| + (d > 0)` is least for it.
 *
 * The planner cannot know how many keys the walk finds (it guesses a handful), so nothing
 * here may hang on its join choices (a nested loop over every pair of page and prefix
 * keys takes minutes on a big page): the page's edges are one index scan over the array of
 * its keys, and whether their other end lies on this or an earlier page is a hashed
 * subplan (`(x IN (…)) IS TRUE` keeps the planner from turning it into a join).
 */
function walkSql(up: boolean, down: boolean): string {
  const walks: string[] = [];
  const nodes: string[] = [];
  const cuts: string[] = [];
  if (up) {
    walks.push(direction('up', 'to_key', 'from_key'));
    nodes.push('SELECT k, 2 * w.d AS o FROM up w, unnest(w.frontier) k');
    cuts.push('EXISTS (SELECT 1 FROM up WHERE cut)');
  }
  if (down) {
    walks.push(direction('down', 'from_key', 'to_key'));
    nodes.push('SELECT k, 2 * w.d + 1 AS o FROM down w, unnest(w.frontier) k');
    cuts.push('EXISTS (SELECT 1 FROM down WHERE cut)');
  }
  return `WITH RECURSIVE ${walks.join(', ')},
    walked AS (${nodes.join(' UNION ALL ')}),
    nearest AS (SELECT k, min(o) AS o FROM walked GROUP BY k),
    ranked AS (
      SELECT k, CASE WHEN o % 2 = 1 THEN o / 2 ELSE -(o / 2) END AS dist,
             row_number() OVER (ORDER BY o / 2, k COLLATE "C") AS rn
        FROM nearest),
    kept AS (SELECT * FROM ranked WHERE rn <= $4::int),
    pos AS (SELECT count(*)::int AS n FROM kept
             WHERE $5::int IS NOT NULL AND (abs(dist), k COLLATE "C") <= ($5::int, $6::text COLLATE "C")),
    page AS (SELECT kept.* FROM kept, pos WHERE rn > pos.n AND rn <= pos.n + $7::int),
    page_edges AS (
      SELECT e.from_key, e.to_key FROM asset_edges e
       WHERE $8::boolean AND e.tenant_id = $1 AND e.from_key = ANY ((SELECT array_agg(k) FROM page)::text[])
         AND (e.to_key IN (SELECT k FROM kept, pos WHERE rn <= pos.n + $7::int)) IS TRUE
      UNION ALL
      SELECT e.from_key, e.to_key FROM asset_edges e
       WHERE $8::boolean AND (SELECT n FROM pos) > 0
         AND e.tenant_id = $1 AND e.to_key = ANY ((SELECT array_agg(k) FROM page)::text[])
         AND (e.from_key IN (SELECT k FROM kept, pos WHERE rn <= pos.n)) IS TRUE)
    SELECT EXISTS (SELECT 1 FROM assets WHERE tenant_id = $1 AND key = $2) AS found,
           (SELECT count(*)::int FROM kept) AS total,
           (SELECT n FROM pos) AS before,
           (SELECT count(*) > $4::int FROM ranked) OR ${cuts.join(' OR ')} AS truncated,
           coalesce((SELECT json_agg(json_build_array(k, dist) ORDER BY rn) FROM page), '[]') AS nodes,
           (SELECT json_build_array(coalesce(array_agg(from_key), '{}'), coalesce(array_agg(to_key), '{}'))
              FROM page_edges) AS edges`;
}

const WALK_SQL = { up: walkSql(true, false), down: walkSql(false, true), both: walkSql(true, true) };

/** A tenant's whole edge set, and the snapshot it was read under. */
export interface GraphEdges {
  /** `pg_current_snapshot()` of the reading statement, as text. */
  snapshot: string;
  from: string[];
  to: string[];
  /** More edges than the limit asked for: `from`/`to` are empty. */
  over: boolean;
}

/** Whether a snapshot still sees a tenant's graph as it is now (see `asset_graph_changes`). */
export interface GraphCheck {
  /** Whether the root is a registered asset. */
  found: boolean;
  /** An edge change committed that the snapshot does not see. */
  changed: boolean;
  /** The checking statement's snapshot: when nothing changed, the graph is the same under it. */
  snapshot: string;
}

/** Walks of the deduplicated asset-level edge table (`asset_edges`). */
export class AssetGraphRepository {
  /**
   * Every edge of a tenant (none when there are more than `limit`), and the snapshot of
   * the statement that read them: one statement, so the edges are exactly those that
   * snapshot sees. Two arrays, not rows or pairs: a third of the bytes to build and parse.
   */
  async edges(m: SqlRunner, tenantId: string, limit: number): Promise<GraphEdges> {
    const [r]: Array<{ snapshot: string; n: number; edges: [string[], string[]] | null }> = await sqlRows(
      m,
      `WITH e AS MATERIALIZED (SELECT from_key, to_key FROM asset_edges WHERE tenant_id = $1 LIMIT $2::int + 1)
       SELECT pg_current_snapshot()::text AS snapshot, (SELECT count(*)::int FROM e) AS n,
              CASE WHEN (SELECT count(*) FROM e) <= $2::int THEN
                (SELECT json_build_array(coalesce(array_agg(from_key), '{}'), coalesce(array_agg(to_key), '{}')) FROM e)
              END AS edges`,
      [tenantId, limit],
    );
    if (!r) throw new Error('the edge read returned no row');
    const [from, to] = r.edges ?? [[], []];
    return { snapshot: r.snapshot, from, to, over: r.edges === null };
  }

  /**
   * Whether `root` is a registered asset, and whether a change of the tenant's edges has
   * committed that `snapshot` does not see: a row of `asset_graph_changes` (written by the
   * changing transaction's triggers) whose transaction is not visible in it. Transactions
   * before the snapshot's xmin had finished when it was taken, so only later ones count.
   */
  async check(m: SqlRunner, tenantId: string, root: string, snapshot: string): Promise<GraphCheck> {
    const [r]: GraphCheck[] = await sqlRows(
      m,
      `SELECT EXISTS (SELECT 1 FROM assets WHERE tenant_id = $1 AND key = $2) AS found,
              EXISTS (SELECT 1 FROM asset_graph_changes c
                       WHERE c.tenant_id = $1 AND c.xid >= pg_snapshot_xmin($3::pg_snapshot)
                         AND NOT pg_visible_in_snapshot(c.xid, $3::pg_snapshot)) AS changed,
              pg_current_snapshot()::text AS snapshot`,
      [tenantId, root, snapshot],
    );
    if (!r) throw new Error('the graph check returned no row');
    return r;
  }

  /** The xmin of a snapshot taken now: every transaction below it had finished by then. */
  async snapshotXmin(m: SqlRunner): Promise<string> {
    const [r]: Array<{ xmin: string }> = await sqlRows(
      m,
      `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`,
    );
    if (!r) throw new Error('the snapshot read returned no row');
    return r.xmin;
  }

  /** Up to `limit` rows of `asset_graph_changes` whose transaction is below `xid` removed; how many. */
  async pruneChanges(m: SqlRunner, xid: string, limit: number): Promise<number> {
    const [r]: Array<{ n: number }> = await sqlRows(
      m,
      `WITH gone AS (DELETE FROM asset_graph_changes WHERE ctid IN (
         SELECT ctid FROM asset_graph_changes WHERE xid < $1::xid8 LIMIT $2::int) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [xid, limit],
    );
    return r?.n ?? 0;
  }

  /** One page of a walk, in one statement. */
  async walk(m: SqlRunner, tenantId: string, w: GraphWalk): Promise<GraphPage> {
    const sql = w.up && w.down ? WALK_SQL.both : w.up ? WALK_SQL.up : WALK_SQL.down;
    const found: Array<Omit<GraphPage, 'edges'> & { edges: [string[], string[]] }> = await sqlRows(m, sql, [
      tenantId,
      w.root,
      w.depth,
      w.cap,
      w.after?.[0] ?? null,
      w.after?.[1] ?? null,
      w.first,
      w.edges,
    ]);
    const r = found[0];
    if (!r) throw new Error('the lineage walk returned no row');
    // Two arrays, not an array of pairs: a third of the bytes to build and parse. Sorted
    // here, where a sort costs less than in the statement.
    const [from, to] = r.edges;
    const edges = from.map((f, i): LineageEdgeRow => ({ fromAssetKey: f, toAssetKey: to[i] }));
    edges.sort((a, b) => {
      const [x, y] = [a.fromAssetKey, b.fromAssetKey];
      const [p, q] = [a.toAssetKey, b.toAssetKey];
      return x < y ? -1 : x > y ? 1 : p < q ? -1 : p > q ? 1 : 0;
    });
    return { ...r, edges };
  }
}
