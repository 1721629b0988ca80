import type { SqlRunner } from '../../db/sql';
import { AssetGraphRepository } from '../../repositories/asset-graph.repository';
import { COPY_SNAPSHOT_MAX_AGE_MS } from './lineage-graph-cache';

/**
 * Keeps `asset_graph_changes` to the rows a lineage copy's check can still need (the
 * scheduler's sweep; without it the table grows with every edge-changing transaction).
 *
 * A check of a copy read under snapshot S looks only at rows of transactions at or above
 * S's xmin. Now and then this takes a mark: the xmin X of a snapshot taken at that moment
 * M (every transaction below X had finished by M). Once a mark is `horizonMs` old, rows
 * below its X are removed, which no check can need:
 * - a snapshot taken after M has an xmin of at least X;
 * - a snapshot taken before M is checked only within COPY_SNAPSHOT_MAX_AGE_MS of it
 *   (LineageGraphCache), so before M + that bound, which is a whole bound before the prune
 *   (`horizonMs` is twice the bound).
 * Only durations are compared, each on its own process's clock. Several schedulers are
 * safe: each keeps its own marks. A restarted one prunes a horizon after its first mark.
 */
export class GraphChangesPrune {
  private readonly marks: Array<{ at: number; xmin: string }> = [];
  private lastMark = Number.NEGATIVE_INFINITY;
  /** The mark whose rows are all gone: nothing to do until a later mark is a horizon old. */
  private prunedTo: string | null = null;

  constructor(
    private readonly db: SqlRunner,
    private readonly repo: AssetGraphRepository,
    private readonly opts: { horizonMs: number; markEveryMs: number; batch: number },
  ) {}

  /** A mark when one is due, then the rows below the newest mark a horizon old; how many went. */
  async run(): Promise<number> {
    if (Date.now() - this.lastMark >= this.opts.markEveryMs) {
      const xmin = await this.repo.snapshotXmin(this.db);
      // Stamped after the statement: the snapshot was taken before this moment.
      this.lastMark = Date.now();
      this.marks.push({ at: this.lastMark, xmin });
    }
    const now = Date.now();
    while (this.marks.length > 1 && now - this.marks[1].at >= this.opts.horizonMs) this.marks.shift();
    const cut = this.marks[0];
    if (!cut || now - cut.at < this.opts.horizonMs || cut.xmin === this.prunedTo) return 0;
    let gone = 0;
    for (;;) {
      const n = await this.repo.pruneChanges(this.db, cut.xmin, this.opts.batch);
      gone += n;
      if (n < this.opts.batch) {
        this.prunedTo = cut.xmin;
        return gone;
      }
    }
  }
}

/** The scheduler's prune: a mark a minute, rows go two copy lifetimes after their mark. */
export const graphChangesPrune = (db: SqlRunner): GraphChangesPrune =>
  new GraphChangesPrune(db, new AssetGraphRepository(), {
    horizonMs: 2 * COPY_SNAPSHOT_MAX_AGE_MS,
    markEveryMs: 60_000,
    batch: 5000,
  });
