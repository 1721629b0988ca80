import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetGraphRepository, type GraphWalk } from '../src/repositories/asset-graph.repository';
import { AssetGraph, compareC } from '../src/services/assets/lineage-graph';
import { record, ver } from './support/assets';
import { ok, startTestApp, type TestApp } from './support/test-app';

/** Two api processes on one database (as two replicas behind a load balancer), and one with a tiny budget. */
let a: TestApp;
let b: TestApp;
let small: TestApp;
beforeAll(async () => {
  [a, b, small] = await Promise.all([
    startTestApp(),
    startTestApp(),
    startTestApp({ env: { LINEAGE_GRAPH_CACHE_EDGES: '8' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), small?.stop()]);
});

const Q = `query ($k: String!, $dir: LineageDirection) {
  lineage(assetKey: $k, direction: $dir, depth: 10, first: 100) { totalNodes truncated nodes { assetKey distance } edges { fromAssetKey toAssetKey } } }`;
interface G {
  lineage: {
    totalNodes: number;
    truncated: boolean;
    nodes: Array<{ assetKey: string; distance: number }>;
    edges: Array<{ fromAssetKey: string; toAssetKey: string }>;
  };
}
const edgesOf = (g: G) => g.lineage.edges.map((e) => `${e.fromAssetKey}>${e.toAssetKey}`);

/** `to` recorded with `from` as its inputs (the edges from → to). */
const link = (t: TestApp, tenantId: string, to: string, from: string[]) =>
  record(t, tenantId, {
    assets: [{ assetKey: to, version: ver(`${to}${from.join()}`) }],
    upstreamAssets: from.map((f) => ({ assetKey: f, version: ver(f) })),
  });

/** Statements `t` ran during `fn`, and how many of them read the edge table. */
async function counted<T>(t: TestApp, fn: () => Promise<T>) {
  t.app.services.sql.record(true);
  const before = t.app.services.sql.total;
  try {
    const value = await fn();
    const edgeReads = t.app.services.sql.statements.filter((s) => s.includes('asset_edges')).length;
    return { value, statements: t.app.services.sql.total - before, edgeReads };
  } finally {
    t.app.services.sql.record(false);
  }
}

describe('lineage walks over the in-memory copy of a tenant graph', () => {
  it('answer exactly what the recursive statement answers (random graphs, caps, depths, cursors)', async () => {
    const { tenantId } = await a.tenant('executor');
    const repo = new AssetGraphRepository();
    const ds = a.app.services.ds;
    let x = 7;
    const rnd = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), Math.floor((x / 2 ** 31) * n));
    // Keys of mixed case and punctuation: their order is byte order (COLLATE "C").
    const keys = Array.from({ length: 60 }, (_, i) => `r/${['A', 'b', '_', 'B', 'a.', 'z-'][i % 6]}${i}`);
    await ds.query(`INSERT INTO assets (tenant_id, key) SELECT $1, unnest($2::text[])`, [tenantId, keys]);
    const pairs = new Set<string>();
    for (let i = 0; i < 150; i += 1) pairs.add(`${keys[rnd(60)]}>${keys[rnd(60)]}`); // cycles and self-loops too
    const from = [...pairs].map((p) => p.split('>')[0]);
    const to = [...pairs].map((p) => p.split('>')[1]);
    await ds.query(
      `INSERT INTO asset_edges (tenant_id, from_key, to_key) SELECT $1, f, t FROM unnest($2::text[], $3::text[]) u(f, t)`,
      [tenantId, from, to],
    );
    await ds.query(`INSERT INTO assets (tenant_id, key) VALUES ($1, 'r/alone')`, [tenantId]);
    const graph = new AssetGraph(from, to);
    let compared = 0;
    let capped = 0;
    for (let i = 0; i < 150; i += 1) {
      const dir = rnd(3);
      const w: GraphWalk = {
        root: i % 25 === 0 ? 'r/alone' : keys[rnd(60)],
        up: dir !== 1,
        down: dir !== 0,
        depth: 1 + rnd(6),
        cap: [3, 10, 40, 10_000][rnd(4)],
        after: null,
        first: [1, 5, 17, 10_000][rnd(4)],
        edges: true,
      };
      const whole = await repo.walk(ds, tenantId, { ...w, first: 10_000 });
      const at = rnd(whole.nodes.length + 1);
      if (at > 0 && rnd(2)) w.after = [Math.abs(whole.nodes[at - 1][1]), whole.nodes[at - 1][0]];
      if (i % 10 === 9) w.after = [rnd(3), keys[rnd(60)]]; // a cursor between keys
      const sql = await repo.walk(ds, tenantId, w);
      expect(sql.found).toBe(true);
      const { found: _found, ...want } = sql;
      expect(graph.page(w), JSON.stringify(w)).toEqual(want);
      compared += sql.nodes.length;
      if (sql.total === w.cap) capped += 1;
    }
    // The walks were not trivial, and the cap cut some of them.
    expect(compared).toBeGreaterThan(800);
    expect(capped).toBeGreaterThan(10);
  });

  it('orders keys as COLLATE "C" does (UTF-8 bytes), surrogate pairs included', () => {
    const words = ['a', 'B', '_', 'é', 'ï¿½', '\uFFFD', '\u{1F600}', '\uE000', 'z', 'aa', '', '\u{10000}a'];
    const byBytes = [...words].sort((p, q) => Buffer.compare(Buffer.from(p), Buffer.from(q)));
    expect([...words].sort(compareC)).toEqual(byBytes);
  });

  it('build each edge object once per copy: later pages and other roots share it, frozen', () => {
    // a → b → c, a → c: the walks from c and from b both hold a → b.
    const graph = new AssetGraph(['a', 'b', 'a'], ['b', 'c', 'c']);
    const walk = (root: string, first: number, after: [number, string] | null = null): GraphWalk => ({
      root,
      up: true,
      down: false,
      depth: 5,
      cap: 100,
      after,
      first,
      edges: true,
    });
    const whole = graph.page(walk('c', 10)).edges;
    expect(whole).toEqual([
      { fromAssetKey: 'a', toAssetKey: 'b' },
      { fromAssetKey: 'a', toAssetKey: 'c' },
      { fromAssetKey: 'b', toAssetKey: 'c' },
    ]);
    const again = graph.page(walk('c', 10)).edges;
    expect(again).not.toBe(whole); // a fresh array each page
    again.forEach((e, i) => expect(e).toBe(whole[i]));
    expect(graph.page(walk('b', 10)).edges[0]).toBe(whole[0]);
    // The walk from c is c, a, b: its third page of one (after a) holds a → b and b → c.
    const later = graph.page(walk('c', 1, [1, 'a'])).edges;
    expect(later).toEqual([whole[0], whole[2]]);
    later.forEach((e, i) => expect(e).toBe(whole[i * 2]));
    expect(Object.isFrozen(whole[0])).toBe(true);
  });

  it('see an edge another process committed at once, and an asset deleted under them', async () => {
    const { tenantId, key } = await a.tenant('executor');
    await link(a, tenantId, 'x/b', ['x/a']);
    const ask = () => counted(a, () => a.gql<G>(Q, { k: 'x/b', dir: 'UPSTREAM' }, key));
    const held = () => a.app.services.lineage.warmGraph(tenantId);
    // No copy yet: walked in SQL, and the copy read behind it.
    expect(edgesOf(ok((await ask()).value))).toEqual(['x/a>x/b']);
    await held();
    // From memory now: the check only.
    const again = await ask();
    expect([again.edgeReads, edgesOf(ok(again.value))]).toEqual([0, ['x/a>x/b']]);
    // The other process records a new input of x/b: the first sees it on its very next request.
    await link(b, tenantId, 'x/b', ['x/a', 'x/c']);
    expect(edgesOf(ok((await ask()).value))).toEqual(['x/a>x/b', 'x/c>x/b']);
    await held();
    const after = await ask();
    expect([after.edgeReads, edgesOf(ok(after.value))]).toEqual([0, ['x/a>x/b', 'x/c>x/b']]);
    // A deleted asset takes its edges with it (a cascade): gone from the next answer too.
    await b.app.services.ds.query(`DELETE FROM assets WHERE tenant_id = $1 AND key = 'x/a'`, [tenantId]);
    expect(edgesOf(ok((await ask()).value))).toEqual(['x/c>x/b']);
    await held();
    expect(edgesOf(ok((await ask()).value))).toEqual(['x/c>x/b']);
    // An edge change of another tenant does not make this one's copy out of date.
    const other = await a.tenant('executor');
    await link(b, other.tenantId, 'x/b', ['x/z']);
    const still = await ask();
    expect([still.edgeReads, edgesOf(ok(still.value))]).toEqual([0, ['x/c>x/b']]);
  });

  it('read while an edge-writing transaction was open, see its edges once it commits, not before', async () => {
    const { tenantId, key } = await a.tenant('executor');
    await link(a, tenantId, 'y/b', ['y/a']);
    const qr = b.app.services.ds.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      await qr.query(`INSERT INTO assets (tenant_id, key) VALUES ($1, 'y/new')`, [tenantId]);
      await qr.query(`INSERT INTO asset_edges (tenant_id, from_key, to_key) VALUES ($1, 'y/new', 'y/b')`, [tenantId]);
      // The copy is read now, under a snapshot the open transaction is not in.
      await a.app.services.lineage.warmGraph(tenantId);
      const during = await counted(a, () => a.gql<G>(Q, { k: 'y/b', dir: 'UPSTREAM' }, key));
      expect([during.edgeReads, edgesOf(ok(during.value))]).toEqual([0, ['y/a>y/b']]);
      await qr.commitTransaction();
    } finally {
      await qr.release();
    }
    // Committed after the copy's snapshot was taken, though begun before: the copy is out of date.
    expect(edgesOf(ok(await a.gql<G>(Q, { k: 'y/b', dir: 'UPSTREAM' }, key)))).toEqual(['y/a>y/b', 'y/new>y/b']);
    await a.app.services.lineage.warmGraph(tenantId);
    const fresh = await counted(a, () => a.gql<G>(Q, { k: 'y/b', dir: 'UPSTREAM' }, key));
    expect([fresh.edgeReads, edgesOf(ok(fresh.value))]).toEqual([0, ['y/a>y/b', 'y/new>y/b']]);
    // A rolled-back change is no change: the copy stays.
    const qr2 = b.app.services.ds.createQueryRunner();
    await qr2.connect();
    try {
      await qr2.startTransaction();
      await qr2.query(`DELETE FROM asset_edges WHERE tenant_id = $1`, [tenantId]);
      await qr2.rollbackTransaction();
    } finally {
      await qr2.release();
    }
    const kept = await counted(a, () => a.gql<G>(Q, { k: 'y/b', dir: 'UPSTREAM' }, key));
    expect([kept.edgeReads, edgesOf(ok(kept.value))]).toEqual([0, ['y/a>y/b', 'y/new>y/b']]);
  });

  it('hold at most the budget: a tenant over it walks in SQL, others are dropped least recent first', async () => {
    const one = await small.tenant('executor');
    const two = await small.tenant('executor');
    const big = await small.tenant('executor');
    await link(small, one.tenantId, 's/b', ['s/a1', 's/a2', 's/a3']); // 3 edges: held as 4 of the 8
    await link(small, two.tenantId, 's/b', ['s/a1', 's/a2', 's/a3']);
    await link(small, big.tenantId, 's/b', ['s/a1', 's/a2', 's/a3', 's/a4', 's/a5', 's/a6', 's/a7', 's/a8', 's/a9']);
    const ask = (k: string) => counted(small, () => small.gql<G>(Q, { k: 's/b', dir: 'UPSTREAM' }, k));
    /** Edge reads of a walk, once the tenant's copy is as held as it can be. */
    const reads = async (x: { tenantId: string; key: string }) => {
      await small.app.services.lineage.warmGraph(x.tenantId);
      const r = await ask(x.key);
      expect(ok(r.value).lineage.totalNodes).toBeGreaterThan(3);
      return r.edgeReads;
    };
    // Over the budget: every walk is the statement over the edges.
    expect([await reads(big), await reads(big), await reads(big)]).toEqual([1, 1, 1]);
    expect(ok((await ask(big.key)).value).lineage.totalNodes).toBe(10);
    // Two small ones fit together; both answered from memory.
    expect([await reads(one), await reads(two), await reads(one), await reads(two)]).toEqual([0, 0, 0, 0]);
    // A third that fits pushes out the least recently used (one), not two.
    const three = await small.tenant('executor');
    await link(small, three.tenantId, 's/b', ['s/a1', 's/a2', 's/a3']);
    // (A walk in SQL reads the edges; the copy may be read behind it within the same request.)
    const inSql = async (k: string) => (await ask(k)).edgeReads > 0;
    expect([await inSql(three.key), await reads(three), await inSql(two.key)]).toEqual([true, 0, false]);
    expect(await inSql(one.key)).toBe(true); // its copy went
  });
});
