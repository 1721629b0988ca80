import type { SqlRunner } from '../../db/sql';
import type { AssetGraphRepository, GraphPage, GraphWalk } from '../../repositories/asset-graph.repository';
import { AssetGraph } from './lineage-graph';

/** How long a tenant found over the budget walks in SQL before its size is looked at again. */
const OVER_RECHECK_MS = 60_000;

/**
 * How long a copy's snapshot is trusted: a check issued later than this after the statement
 * that took the snapshot (the read, or the last check) is not made; the copy is read again.
 * The scheduler prunes `asset_graph_changes` on this bound (graph-changes-prune.ts).
 */
export const COPY_SNAPSHOT_MAX_AGE_MS = 30 * 60_000;

type Entry =
  | {
      over: false;
      graph: AssetGraph;
      snapshot: string;
      /** When the statement that took `snapshot` was issued (this process's clock). */
      snapshotAt: number;
      cost: number;
    }
  | { over: true; until: number; cost: number };

/**
 * Each tenant's asset graph, held in this process and walked in memory (AssetGraph), so a
 * walk costs one small statement instead of one over thousands of edges.
 *
 * Exact, not eventually right: a copy is read with the snapshot of the statement that read
 * it, and every request first asks (in one statement, which also says whether the root is
 * registered) whether a change of the tenant's edges has committed that this snapshot does
 * not see; the changing transactions record themselves in `asset_graph_changes` by trigger,
 * in the same transaction. If none has, the copy is the graph as of the request's own
 * snapshot (which then becomes the copy's); if one has, the request walks in SQL and the
 * copy is read again in the background. So an answer from memory is what the recursive
 * statement would have answered at that moment, and no request waits for a read.
 *
 * Bounded: copies hold at most `budget` edges in all (least recently used go first); a
 * tenant with more edges than the budget walks in SQL (the caller's fallback, `null`), as
 * does every tenant when the budget is 0. A copy whose snapshot is older than `maxAgeMs` is
 * treated as out of date (read again, the request walks in SQL): the rows a check of an
 * older snapshot would need may have been pruned.
 */
export class LineageGraphCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  private held = 0;

  constructor(
    private readonly db: SqlRunner,
    private readonly repo: AssetGraphRepository,
    private readonly budget: number,
    private readonly maxAgeMs = COPY_SNAPSHOT_MAX_AGE_MS,
  ) {}

  /** Whether the copy's snapshot may still be checked (see COPY_SNAPSHOT_MAX_AGE_MS). */
  private fresh(entry: Extract<Entry, { over: false }>, now: number): boolean {
    return now - entry.snapshotAt <= this.maxAgeMs;
  }

  /**
   * One page of the walk from memory; null: walk it in SQL. A request never waits for a
   * copy to be read: when this process holds none for the tenant, or the one it holds is
   * out of date, this request walks in SQL and the copy is read in the background (one
   * read at a time per tenant), for the requests after it.
   */
  async page(tenantId: string, w: GraphWalk): Promise<GraphPage | null> {
    if (this.budget <= 0) return null;
    const known = this.entries.get(tenantId);
    if (!known || (known.over && known.until <= Date.now())) {
      this.readInBackground(tenantId);
      return null;
    }
    if (known.over) return null;
    const issued = Date.now();
    if (!this.fresh(known, issued)) {
      this.drop(tenantId);
      this.readInBackground(tenantId);
      return null;
    }
    const c = await this.repo.check(this.db, tenantId, w.root, known.snapshot);
    if (!c.found) return { found: false, total: 0, before: 0, truncated: false, nodes: [], edges: [] };
    if (c.changed) {
      if (this.entries.get(tenantId) === known) this.drop(tenantId);
      this.readInBackground(tenantId);
      return null;
    }
    known.snapshot = c.snapshot;
    known.snapshotAt = issued;
    this.touch(tenantId, known);
    return { found: true, ...known.graph.page(w) };
  }

  /** The tenant's copy read now if this process holds none (or an out-of-date one): resolves once it is held. */
  async warm(tenantId: string): Promise<void> {
    if (this.budget <= 0) return;
    const known = this.entries.get(tenantId);
    if (known && !known.over) {
      const issued = Date.now();
      if (this.fresh(known, issued)) {
        const c = await this.repo.check(this.db, tenantId, '', known.snapshot);
        if (!c.changed) {
          known.snapshot = c.snapshot;
          known.snapshotAt = issued;
          return;
        }
      }
      if (this.entries.get(tenantId) === known) this.drop(tenantId);
    }
    await this.load(tenantId);
  }

  private readInBackground(tenantId: string): void {
    // A failed read leaves no copy: the next request tries again (and walks in SQL meanwhile).
    this.load(tenantId).catch(() => undefined);
  }

  /** Edges held in this process, all tenants together. */
  get edgesHeld(): number {
    return this.held;
  }

  /** The tenant's graph read again (one read at a time per tenant; concurrent callers share it). */
  private load(tenantId: string): Promise<Entry> {
    let p = this.loading.get(tenantId);
    if (!p) {
      const issued = Date.now();
      p = this.repo
        .edges(this.db, tenantId, this.budget)
        .then((e): Entry => {
          const entry: Entry = e.over
            ? { over: true, until: Date.now() + OVER_RECHECK_MS, cost: 0 }
            : {
                over: false,
                graph: new AssetGraph(e.from, e.to),
                snapshot: e.snapshot,
                snapshotAt: issued,
                cost: e.from.length + 1,
              };
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
