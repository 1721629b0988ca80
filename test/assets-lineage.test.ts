import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { one, record } from './support/assets';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { LINEAGE_NODE_CAP: '70' } });
});
afterAll(async () => {
  await t?.stop();
});

const LINEAGE = `query ($k: String!, $dir: LineageDirection, $depth: Int) {
  lineage(assetKey: $k, direction: $dir, depth: $depth) {
    assetKey direction depth truncated downstream
    nodes { assetKey distance asset { key } }
    edges { fromAssetKey toAssetKey }
    upstream { assetKey version materialization { id } }
  }
}`;

interface Graph {
  assetKey: string;
  direction: string;
  depth: number;
  truncated: boolean;
  downstream: string[];
  nodes: Array<{ assetKey: string; distance: number; asset: { key: string } | null }>;
  edges: Array<{ fromAssetKey: string; toAssetKey: string }>;
  upstream: Array<{ assetKey: string; version: string; materialization: { id: string } | null }>;
}

const lineage = async (key: string, k: string, dir: string, depth?: number) =>
  ok(await t.gql<{ lineage: Graph }>(LINEAGE, { k, dir, depth }, key)).lineage;
const nodeMap = (g: Graph) => Object.fromEntries(g.nodes.map((n) => [n.assetKey, n.distance]));

describe('lineage', () => {
  it('walks a diamond both ways, visiting each asset once', async () => {
    const ex = await t.tenant('executor');
    const a = await one(t, ex.tenantId, 'd/a', 'a');
    const b = await one(t, ex.tenantId, 'd/b', 'b', [a]);
    const c = await one(t, ex.tenantId, 'd/c', 'c', [a]);
    const d = await one(t, ex.tenantId, 'd/d', 'd', [b, c]);
    const up = await lineage(ex.key, 'd/d', 'UPSTREAM');
    expect(nodeMap(up)).toEqual({ 'd/d': 0, 'd/b': -1, 'd/c': -1, 'd/a': -2 });
    expect(up.nodes).toHaveLength(4);
    expect(up.edges).toEqual([
      { fromAssetKey: 'd/a', toAssetKey: 'd/b' },
      { fromAssetKey: 'd/a', toAssetKey: 'd/c' },
      { fromAssetKey: 'd/b', toAssetKey: 'd/d' },
      { fromAssetKey: 'd/c', toAssetKey: 'd/d' },
    ]);
    expect(up.truncated).toBe(false);
    expect(up.downstream).toEqual([]);
    expect(up.upstream.map((u) => [u.assetKey, u.version, u.materialization?.id])).toEqual([
      ['d/b', b.version, b.id],
      ['d/c', c.version, c.id],
    ]);
    expect(up.nodes.every((n) => n.asset?.key === n.assetKey)).toBe(true);
    const down = await lineage(ex.key, 'd/a', 'DOWNSTREAM');
    expect(nodeMap(down)).toEqual({ 'd/a': 0, 'd/b': 1, 'd/c': 1, 'd/d': 2 });
    expect(down.downstream).toEqual(['d/b', 'd/c', 'd/d']);
    expect(down.edges).toHaveLength(4);
    const both = await lineage(ex.key, 'd/b', 'BOTH');
    expect(nodeMap(both)).toEqual({ 'd/b': 0, 'd/a': -1, 'd/d': 1 });
    expect(both.edges).toEqual([
      { fromAssetKey: 'd/a', toAssetKey: 'd/b' },
      { fromAssetKey: 'd/b', toAssetKey: 'd/d' },
    ]);
    // UPSTREAM still lists what lies downstream.
    expect((await lineage(ex.key, 'd/b', 'UPSTREAM')).downstream).toEqual(['d/d']);
    expect(d.id).toBeTruthy();
  });

  it('is harmless on a cycle', async () => {
    const ex = await t.tenant('executor');
    const x = await one(t, ex.tenantId, 'c/x', 'x1');
    const y = await one(t, ex.tenantId, 'c/y', 'y1', [x]);
    const z = await one(t, ex.tenantId, 'c/z', 'z1', [y]);
    await one(t, ex.tenantId, 'c/x', 'x2', [z]); // x ← z ← y ← x
    for (const dir of ['UPSTREAM', 'DOWNSTREAM', 'BOTH']) {
      const g = await lineage(ex.key, 'c/x', dir, 50);
      expect(g.nodes.map((n) => n.assetKey).sort()).toEqual(['c/x', 'c/y', 'c/z']);
      expect(g.truncated).toBe(false);
    }
    const down = await lineage(ex.key, 'c/x', 'DOWNSTREAM', 50);
    expect(nodeMap(down)).toEqual({ 'c/x': 0, 'c/y': 1, 'c/z': 2 });
    expect(down.edges).toHaveLength(3);
    expect(down.downstream).toEqual(['c/y', 'c/z']);
    // Staleness and impact terminate on a cycle too.
    const impact = ok(
      await t.gql<{ impact: { downstreamCount: number } }>(
        '{ impact(assetKey: "c/x") { downstreamCount } }',
        {},
        ex.key,
      ),
    );
    expect(impact.impact.downstreamCount).toBe(2);
    const stale = await t.gql('query ($id: ID!) { materialization(id: $id) { isStale } }', { id: y.id }, ex.key);
    expect(stale.errors).toBeUndefined();
  });

  it('walks a 60-deep chain at depth 50 (truncated) and refuses depth 51, both directions', async () => {
    const ex = await t.tenant('executor');
    let prev = await one(t, ex.tenantId, 'chain/0', 'n0');
    for (let i = 1; i < 60; i += 1) prev = await one(t, ex.tenantId, `chain/${i}`, `n${i}`, [prev]);
    const up = await lineage(ex.key, 'chain/59', 'UPSTREAM', 50);
    expect(up.nodes).toHaveLength(51);
    expect(Math.min(...up.nodes.map((n) => n.distance))).toBe(-50);
    expect(up.truncated).toBe(true);
    const down = await lineage(ex.key, 'chain/0', 'DOWNSTREAM', 50);
    expect(down.nodes).toHaveLength(51);
    expect(down.downstream).toHaveLength(50);
    expect(down.truncated).toBe(true);
    // Exactly the depth needed: nothing lies beyond.
    const exact = await lineage(ex.key, 'chain/50', 'UPSTREAM', 50);
    expect(exact.nodes).toHaveLength(51);
    expect(exact.truncated).toBe(false);
    for (const dir of ['UPSTREAM', 'DOWNSTREAM']) {
      for (const depth of [51, 0]) {
        const res = await t.gql(LINEAGE, { k: 'chain/30', dir, depth }, ex.key);
        expect(codeOf(res)).toBe('BAD_USER_INPUT');
        expect(res.errors?.[0]?.extensions?.field).toBe('depth');
      }
    }
  });

  it('stops at the node cap and says truncated', async () => {
    const ex = await t.tenant('executor');
    const root = await one(t, ex.tenantId, 'fan/root', 'root');
    await record(t, ex.tenantId, {
      assets: Array.from({ length: 90 }, (_, i) => ({ assetKey: `fan/${i}`, version: 'v' })),
      upstreamAssets: [{ assetKey: root.assetKey, version: root.version }],
    });
    const g = await lineage(ex.key, 'fan/root', 'DOWNSTREAM', 1);
    expect(g.nodes).toHaveLength(70);
    expect(g.truncated).toBe(true);
  });

  it('pages a walk the node cap cut: the pages hold the same capped set, each page says truncated', async () => {
    const ex = await t.tenant('executor');
    const root = await one(t, ex.tenantId, 'capp/root', 'root');
    await record(t, ex.tenantId, {
      assets: Array.from({ length: 90 }, (_, i) => ({ assetKey: `capp/${i}`, version: 'v' })),
      upstreamAssets: [{ assetKey: root.assetKey, version: root.version }],
    });
    const Q = `query ($after: String) { lineage(assetKey: "capp/root", direction: DOWNSTREAM, depth: 1, first: 25, after: $after) {
      totalNodes truncated pageInfo { hasNextPage endCursor } nodes { assetKey } } }`;
    type P = {
      lineage: {
        totalNodes: number;
        truncated: boolean;
        pageInfo: { hasNextPage: boolean; endCursor: string };
        nodes: Array<{ assetKey: string }>;
      };
    };
    const keys: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i += 1) {
      const p: P = ok(await t.gql<P>(Q, { after }, ex.key));
      expect([p.lineage.totalNodes, p.lineage.truncated]).toEqual([70, true]);
      keys.push(...p.lineage.nodes.map((n) => n.assetKey));
      if (!p.lineage.pageInfo.hasNextPage) break;
      after = p.lineage.pageInfo.endCursor;
    }
    expect(keys).toHaveLength(70);
    expect(new Set(keys).size).toBe(70);
    expect(keys[0]).toBe('capp/root');
    expect(keys.slice(1)).toEqual([...keys.slice(1)].sort());
  });

  it('is NOT_FOUND for an unknown key', async () => {
    const ex = await t.tenant('executor');
    expect(codeOf(await t.gql(LINEAGE, { k: 'no/such' }, ex.key))).toBe('NOT_FOUND');
    expect(codeOf(await t.gql(LINEAGE, { k: 'bad key' }, ex.key))).toBe('NOT_FOUND');
    expect(codeOf(await t.gql('{ impact(assetKey: "no/such") { downstreamCount } }', {}, ex.key))).toBe('NOT_FOUND');
  });
});

const STALE = `query ($id: ID!) { materialization(id: $id) {
  isStale staleReasons { cause assetKey usedVersion latestVersion }
} }`;
interface Stale {
  materialization: {
    isStale: boolean;
    staleReasons: Array<{ cause: string; assetKey: string; usedVersion: string | null; latestVersion: string | null }>;
  };
}

describe('staleness', () => {
  it('is fresh when nothing moved, UPSTREAM_CHANGED when an input moved on (same partition only)', async () => {
    const ex = await t.tenant('executor');
    const doc = await one(t, ex.tenantId, 'doc/in', 'd1', [], { partitionKey: 'p1' });
    const text = await one(t, ex.tenantId, 'ocr/text', 't1', [doc], { partitionKey: 'p1' });
    const fresh = ok(await t.gql<Stale>(STALE, { id: text.id }, ex.key)).materialization;
    expect(fresh).toEqual({ isStale: false, staleReasons: [] });
    // A new version in another partition changes nothing.
    await one(t, ex.tenantId, 'doc/in', 'd-other', [], { partitionKey: 'p2' });
    expect(ok(await t.gql<Stale>(STALE, { id: text.id }, ex.key)).materialization.isStale).toBe(false);
    const doc2 = await one(t, ex.tenantId, 'doc/in', 'd2', [], { partitionKey: 'p1' });
    const stale = ok(await t.gql<Stale>(STALE, { id: text.id }, ex.key)).materialization;
    expect(stale).toEqual({
      isStale: true,
      staleReasons: [
        { cause: 'UPSTREAM_CHANGED', assetKey: 'doc/in', usedVersion: doc.version, latestVersion: doc2.version },
      ],
    });
  });

  it('is UPSTREAM_STALE when an input is itself stale', async () => {
    const ex = await t.tenant('executor');
    const doc = await one(t, ex.tenantId, 's/doc', 'd1');
    const text = await one(t, ex.tenantId, 's/text', 't1', [doc]);
    const claims = await one(t, ex.tenantId, 's/claims', 'c1', [text]);
    await one(t, ex.tenantId, 's/doc', 'd2');
    const r = ok(await t.gql<Stale>(STALE, { id: claims.id }, ex.key)).materialization;
    expect(r).toEqual({
      isStale: true,
      staleReasons: [
        { cause: 'UPSTREAM_STALE', assetKey: 's/text', usedVersion: text.version, latestVersion: text.version },
      ],
    });
  });

  it('is CODE_CHANGED when a newer materialization has another code or prompt fingerprint (any partition)', async () => {
    const ex = await t.tenant('executor');
    const old = await one(t, ex.tenantId, 'k/out', 'o1', [], { codeFingerprint: 'git:1', partitionKey: 'a' });
    await one(t, ex.tenantId, 'k/out', 'o2', [], { codeFingerprint: 'git:1', partitionKey: 'a' });
    expect(ok(await t.gql<Stale>(STALE, { id: old.id }, ex.key)).materialization.isStale).toBe(false);
    const newer = await one(t, ex.tenantId, 'k/out', 'o3', [], {
      codeFingerprint: 'git:1',
      promptFingerprint: 'prompt-v2',
      partitionKey: 'b',
    });
    const r = ok(await t.gql<Stale>(STALE, { id: old.id }, ex.key)).materialization;
    expect(r).toEqual({
      isStale: true,
      staleReasons: [
        { cause: 'CODE_CHANGED', assetKey: 'k/out', usedVersion: old.version, latestVersion: newer.version },
      ],
    });
    expect(ok(await t.gql<Stale>(STALE, { id: newer.id }, ex.key)).materialization.isStale).toBe(false);
  });

  it('computes staleness of a list in a bounded number of statements', async () => {
    const ex = await t.tenant('executor');
    const doc = await one(t, ex.tenantId, 'b/doc', 'd1');
    for (let i = 0; i < 12; i += 1) await one(t, ex.tenantId, `b/o${i}`, `o${i}`, [doc]);
    await one(t, ex.tenantId, 'b/doc', 'd2');
    const q = `{ assets(namespace: "b") { edges { node { key latest { isStale staleReasons { cause } } } } } }`;
    ok(await t.gql(q, {}, ex.key));
    const before = t.app.services.sql.total;
    const res = ok(
      await t.gql<{ assets: { edges: Array<{ node: { key: string; latest: { isStale: boolean } } }> } }>(q, {}, ex.key),
    );
    const used = t.app.services.sql.total - before;
    expect(res.assets.edges.filter((e) => e.node.latest.isStale).map((e) => e.node.key)).toHaveLength(12);
    expect(used).toBeLessThanOrEqual(6);
  });
});

describe('impact', () => {
  it('counts transitive downstream assets, recent jobs and dags, and what a new version would make stale', async () => {
    const ex = await t.tenant('executor');
    const doc = await one(t, ex.tenantId, 'i/doc', 'd1', [], { dagId: 'dag1', jobId: 'j1' });
    await one(t, ex.tenantId, 'i/doc', 'd1b', [], { dagId: 'dag2', jobId: 'j2' });
    await one(t, ex.tenantId, 'i/doc', 'd1c', [], { dagId: 'dag2', jobId: 'j2', partitionKey: 'p' });
    const doc2 = await one(t, ex.tenantId, 'i/doc', 'd2');
    // text (p1) uses the latest doc → fresh and affected; text (p2) uses an old one → already stale.
    const text1 = await one(t, ex.tenantId, 'i/text', 't1', [doc2], { partitionKey: 'p1' });
    await one(t, ex.tenantId, 'i/text', 't2', [doc], { partitionKey: 'p2' });
    await one(t, ex.tenantId, 'i/claims', 'c1', [text1]);
    await one(t, ex.tenantId, 'i/unrelated', 'u1', [], {});
    const q = `{ impact(assetKey: "i/doc") { assetKey downstreamAssets downstreamCount recentJobCount recentDagCount affectedMaterializations } }`;
    const r = ok(await t.gql<{ impact: Record<string, unknown> }>(q, {}, ex.key)).impact;
    expect(r).toEqual({
      assetKey: 'i/doc',
      downstreamAssets: ['i/claims', 'i/text'],
      downstreamCount: 2,
      recentJobCount: 2,
      recentDagCount: 2,
      affectedMaterializations: 2, // i/text@p1 and i/claims
    });
  });
});
