import type { GraphPage, GraphWalk, LineageEdgeRow } from '../../repositories/asset-graph.repository';

/**
 * Order of two keys as Postgres's `COLLATE "C"` orders them (UTF-8 bytes, which is code
 * point order): UTF-16 code units compare the same except that surrogates (code points
 * above U+FFFF) must sort after U+E000–U+FFFF.
 */
export function compareC(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x < 0xe000 ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * One tenant's asset graph in memory: keys numbered in `COLLATE "C"` order (so a key's
 * number is its rank), adjacency both ways in compressed rows. Immutable once built (its
 * edge objects aside: each made once, on first use).
 */
export class AssetGraph {
  readonly keys: string[];
  private readonly ids: Map<string, number>;
  private readonly outStart: Int32Array;
  private readonly outTo: Int32Array;
  private readonly inStart: Int32Array;
  private readonly inFrom: Int32Array;
  /**
   * Each out-edge's answer object (by its place in `outTo`), made the first time a page
   * holds it and shared by every page after: a whole answer holds tens of thousands, and
   * building them was the walk's largest cost. At most one per edge of the copy (the keys
   * are shared); frozen, since pages hand the same objects to every caller.
   */
  private readonly rows: Array<LineageEdgeRow | undefined>;

  /** `from[i] → to[i]` for each edge (no duplicates: the table's key). */
  constructor(from: readonly string[], to: readonly string[]) {
    const distinct = new Set<string>(from);
    for (const k of to) distinct.add(k);
    this.keys = [...distinct].sort(compareC);
    this.ids = new Map(this.keys.map((k, i) => [k, i]));
    const n = this.keys.length;
    const f = Int32Array.from(from, (k) => this.ids.get(k)!);
    const t = Int32Array.from(to, (k) => this.ids.get(k)!);
    [this.outStart, this.outTo] = compress(n, f, t);
    [this.inStart, this.inFrom] = compress(n, t, f);
    this.rows = new Array<LineageEdgeRow | undefined>(this.outTo.length);
  }

  get edgeCount(): number {
    return this.outTo.length;
  }

  /**
   * One page of a walk, exactly as AssetGraphRepository's statement answers it (`found`
   * aside: the caller knows whether the root is registered).
   */
  page(w: GraphWalk): Omit<GraphPage, 'found'> {
    const n = this.keys.length;
    const root = this.ids.get(w.root);
    // o = 2·|d| upstream, 2·d + 1 downstream; the least wins (upstream on a tie); -1: not reached.
    const o = new Int32Array(n + 1).fill(-1);
    const reached: number[] = [];
    let cut = false;
    if (root === undefined) {
      // A registered asset with no edge: the walk is the root alone.
      reached.push(n);
      o[n] = 0;
    } else {
      if (w.up) cut = this.direction(root, w, this.inStart, this.inFrom, 0, o, reached) || cut;
      if (w.down) cut = this.direction(root, w, this.outStart, this.outTo, 1, o, reached) || cut;
    }
    const keyOf = (id: number) => (id === n ? w.root : this.keys[id]);
    // Ranked by (|distance|, key): ids are key ranks (the root alone needs no order).
    reached.sort((a, b) => (o[a] >> 1) - (o[b] >> 1) || a - b);
    const kept = reached.length > w.cap ? reached.slice(0, w.cap) : reached;
    let before = 0;
    if (w.after) {
      const [ad, ak] = w.after;
      while (before < kept.length) {
        const id = kept[before];
        const d = o[id] >> 1;
        if (d > ad || (d === ad && compareC(keyOf(id), ak) > 0)) break;
        before += 1;
      }
    }
    const end = Math.min(kept.length, before + w.first);
    const nodes: Array<[string, number]> = [];
    // pos[id]: 1-based place in the kept order, 0: not kept.
    const pos = new Int32Array(n + 1);
    for (let i = 0; i < kept.length; i += 1) pos[kept[i]] = i + 1;
    for (let i = before; i < end; i += 1) {
      const id = kept[i];
      const d = o[id] >> 1;
      nodes.push([keyOf(id), o[id] & 1 ? d : d === 0 ? 0 : -d]);
    }
    let edges: LineageEdgeRow[] = [];
    if (w.edges && root !== undefined) {
      // The edges with both ends kept up to the page's end and at least one on the page,
      // each found once, from its `from` end. Visiting `from` ids in ascending order, each
      // with its targets ascending (rows are sorted), yields them by from, then to (ids are
      // key ranks) with no sort. Counted first, so the array is allocated once at its size.
      const upToEnd = Int32Array.from(kept.slice(0, end)).sort();
      const wanted = (onPage: boolean, v: number) => {
        const pv = pos[v];
        return pv > 0 && pv <= end && (onPage || pv > before);
      };
      let count = 0;
      for (const u of upToEnd) {
        const onPage = pos[u] > before;
        for (let j = this.outStart[u]; j < this.outStart[u + 1]; j += 1) if (wanted(onPage, this.outTo[j])) count += 1;
      }
      edges = new Array<LineageEdgeRow>(count);
      let at = 0;
      const { keys, rows } = this;
      for (const u of upToEnd) {
        const onPage = pos[u] > before;
        for (let j = this.outStart[u]; j < this.outStart[u + 1]; j += 1) {
          const v = this.outTo[j];
          if (!wanted(onPage, v)) continue;
          edges[at++] = rows[j] ??= Object.freeze({ fromAssetKey: keys[u], toAssetKey: keys[v] });
        }
      }
    }
    return { total: kept.length, before, truncated: cut || reached.length > w.cap, nodes, edges };
  }

  /**
   * One direction, breadth first (as the statement's recursive term): each distance's new
   * keys; a frontier that would pass the cap is cut in key order and the walk ends there;
   * past `depth` it only looks whether anything lies beyond. Returns whether it was cut.
   */
  private direction(
    root: number,
    w: GraphWalk,
    start: Int32Array,
    next: Int32Array,
    parity: 0 | 1,
    o: Int32Array,
    reached: number[],
  ): boolean {
    const seen = new Uint8Array(this.keys.length);
    seen[root] = 1;
    let seenCount = 1;
    let frontier = [root];
    const mark = (id: number, d: number) => {
      const v = 2 * d + parity;
      if (o[id] < 0) reached.push(id);
      if (o[id] < 0 || v < o[id]) o[id] = v;
    };
    mark(root, 0);
    for (let d = 0; d <= w.depth && frontier.length; d += 1) {
      const room = d < w.depth ? w.cap - seenCount : 0;
      const found: number[] = [];
      for (const u of frontier) {
        for (let j = start[u]; j < start[u + 1]; j += 1) {
          const v = next[j];
          if (seen[v]) continue;
          if (room === 0) return true; // something beyond: the cut, nothing more to keep
          seen[v] = 1;
          found.push(v);
        }
      }
      // Past the cap: the first `room` keys in key order (ids are key ranks), and the end.
      const cut = found.length > room;
      if (cut) found.sort((a, b) => a - b);
      const kept = cut ? found.slice(0, room) : found;
      for (const v of kept) mark(v, d + 1);
      if (cut) return true;
      seenCount += kept.length;
      frontier = kept;
    }
    return false;
  }
}

/**
 * Compressed rows: for each node, its neighbours `b[e]` over the edges `e` with `a[e]` =
 * node, in ascending order (a page lists its edges in that order without sorting them).
 */
function compress(n: number, a: Int32Array, b: Int32Array): [Int32Array, Int32Array] {
  const start = new Int32Array(n + 1);
  for (const x of a) start[x + 1] += 1;
  for (let i = 0; i < n; i += 1) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const out = new Int32Array(a.length);
  for (let e = 0; e < a.length; e += 1) out[fill[a[e]]++] = b[e];
  for (let i = 0; i < n; i += 1) if (start[i + 1] - start[i] > 1) out.subarray(start[i], start[i + 1]).sort();
  return [start, out];
}
