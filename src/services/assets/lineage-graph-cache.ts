import type { SqlRunner } from '../../db/sql';
import type { AssetGraphRepository, GraphPage, GraphWalk } from '../../repositories/asset-graph.repository';
import { AssetGraph } from './lineage-graph';

/** How long a tenant found over the budget walks in SQL before its size is looked at again. */
const OVER_RECHECK_MS = 60_000;
/** Changes that land between a load and its check, in a row, before a request gives up on memory. */
const TRIES = 3;

type Entry =
  { over: false; graph: AssetGraph; snapshot: string; cost: number } | { over: true; until: number; cost: number };

/**
 * Each tenant's asset graph, held in this process and walked in memory (AssetGraph), so a
 * walk costs one small statement instead of one over thousands of edges.
 *
 * Exact, not eventually right: a copy is read with the snapshot of the statement that read
 * it, and every request first asks (in one statement, which also says whether the root is
 * registered) whether a change of the tenant's edges has committed that this snapshot does
 * not see; the changing transactions record themselves in `asset_graph_changes` by trigger,
 * in the same transaction. If none has, the copy is the graph as of the request's own
 * snapshot (which then becomes the copy's); if one has, the copy is read again. So an answer
 * from memory is what the recursive statement would have answered at that moment.
 *
 * Bounded: copies hold at most `budget` edges in all (least recently used go first); a
 * tenant with more edges than the budget walks in SQL (the caller's fallback, `null`), as
 * does every tenant when the budget is 0.
 */
export class LineageGraphCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  private held = 0;

  constructor(
    private readonly db: SqlRunner,
    private readonly repo: AssetGraphRepository,
    private readonly budget: number,
  ) {}

  /** One page of the walk from memory; null: walk it in SQL (over the budget, or the graph keeps changing). */
  async page(tenantId: string, w: GraphWalk): Promise<GraphPage | null> {
    if (this.budget <= 0) return null;
    for (let i = 0; i < TRIES; i += 1) {
      const known = this.entries.get(tenantId);
      if (known?.over && known.until > Date.now()) return null;
      const entry = known && !known.over ? known : await this.load(tenantId);
      if (entry.over) return null;
      const c = await this.repo.check(this.db, tenantId, w.root, entry.snapshot);
      if (!c.found) return { found: false, total: 0, before: 0, truncated: false, nodes: [], edges: [] };
      if (!c.changed) {
        entry.snapshot = c.snapshot;
        this.touch(tenantId, entry);
        return { found: true, ...entry.graph.page(w) };
      }
      if (this.entries.get(tenantId) === entry) this.drop(tenantId);
    }
    return null;
  }

  /** Edges held in this process, all tenants together. */
  get edgesHeld(): number {
    return this.held;
  }

  /** The tenant's graph read again (one read at a time per tenant; concurrent requests share it). */
  private load(tenantId: string): Promise<Entry> {
    let p = this.loading.get(tenantId);
    if (!p) {
      p = this.repo
        .edges(this.db, tenantId, this.budget)
        .then((e): Entry => {
          const entry: Entry = e.over
            ? { over: true, until: Date.now() + OVER_RECHECK_MS, cost: 0 }
            : { over: false, graph: new AssetGraph(e.from, e.to), snapshot: e.snapshot, cost: e.from.length + 1 };
          this.drop(tenantId);
          this.entries.set(tenantId, entry);
          this.held += entry.cost;
          this.evict(tenantId);
          return entry;
        })
        .finally(() => this.loading.delete(tenantId));
      this.loading.set(tenantId, p);
    }
    return p;
  }

  /** Most recently used last (a Map keeps insertion order). */
  private touch(tenantId: string, entry: Entry): void {
    if (this.entries.get(tenantId) !== entry) return;
    this.entries.delete(tenantId);
    this.entries.set(tenantId, entry);
  }

  private drop(tenantId: string): void {
    const e = this.entries.get(tenantId);
    if (!e) return;
    this.held -= e.cost;
    this.entries.delete(tenantId);
  }

  /** Least recently used copies go until the budget holds (never `keep`, just read). */
  private evict(keep: string): void {
    for (const [id, e] of this.entries) {
      if (this.held <= this.budget) return;
      if (id !== keep && e.cost > 0) this.drop(id);
    }
  }
}
