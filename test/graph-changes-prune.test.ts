import { afterAll, beforeAll, expect, it } from 'vitest';
import { AssetGraphRepository, type GraphWalk } from '../src/repositories/asset-graph.repository';
import { GraphChangesPrune } from '../src/services/assets/graph-changes-prune';
import { LineageGraphCache } from '../src/services/assets/lineage-graph-cache';
import { record, ver } from './support/assets';
import { waitFor } from './support/dag-helpers';
import { freshDatabase } from './support/fresh-database';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * `asset_graph_changes` is pruned (it grew with every edge-changing transaction), and a
 * lineage copy is trusted only as long as the rows its checks need are kept.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler'] });
});
afterAll(async () => {
  await t?.stop();
});

const repo = new AssetGraphRepository();
const walk: GraphWalk = { root: 'b', up: true, down: false, depth: 5, cap: 100, after: null, first: 100, edges: true };

/** `to` recorded with `from` as its inputs (the edges from → to): one edge-changing transaction. */
const link = (app: TestApp, tenantId: string, to: string, from: string[]) =>
  record(app, tenantId, {
    assets: [{ assetKey: to, version: ver(`${to}${from.join()}`) }],
    upstreamAssets: from.map((f) => ({ assetKey: f, version: ver(f) })),
  });

async function changeXids(app: TestApp, tenantId: string): Promise<bigint[]> {
  const rows: Array<{ xid: string }> = await app.app.services.ds.query(
    `SELECT xid::text AS xid FROM asset_graph_changes WHERE tenant_id = $1 ORDER BY xid`,
    [tenantId],
  );
  return rows.map((r) => BigInt(r.xid));
}

it('reads a copy again, without checking it, once its snapshot is older than the copy lifetime', async () => {
  const { tenantId } = await t.tenant('executor');
  await link(t, tenantId, 'b', ['a']);
  const cache = new LineageGraphCache(t.app.services.ds, repo, 1_000, 1_500);
  await cache.warm(tenantId);
  expect((await cache.page(tenantId, walk))?.nodes.map((n) => n[0])).toContain('a');
  await new Promise((r) => setTimeout(r, 1_600));
  // Past its lifetime: the request walks in SQL (null) and the copy is read again.
  expect(await cache.page(tenantId, walk)).toBeNull();
  await cache.warm(tenantId);
  expect((await cache.page(tenantId, walk))?.nodes.map((n) => n[0])).toContain('a');
});

it('removes the rows of transactions below a mark a horizon old, and keeps the later ones', async () => {
  // A database of its own: the prune is database-wide, and other files' lineage copies on the
  // run's database must keep their rows for their whole lifetime.
  const db = await freshDatabase();
  const own = await startTestApp({ roles: ['api'], env: { DATABASE_URL: db.url } });
  try {
    const ds = own.app.services.ds;
    const { tenantId } = await own.tenant('executor');
    await link(own, tenantId, 'b', ['a']);
    await link(own, tenantId, 'c', ['b']);
    await link(own, tenantId, 'd', ['c']);
    const early = await changeXids(own, tenantId);
    expect(early.length).toBe(3);
    // Other files' transactions may hold the cluster's xmin back: the first mark is taken
    // once every early change is below it.
    await waitFor(async () => BigInt(await repo.snapshotXmin(ds)) > early[2], 10_000);
    const prune = new GraphChangesPrune(ds, repo, { horizonMs: 1_000, markEveryMs: 0, batch: 2 });
    expect(await prune.run()).toBe(0); // the first mark: nothing is a horizon old yet
    await link(own, tenantId, 'e', ['d']);
    const later = (await changeXids(own, tenantId)).filter((x) => !early.includes(x));
    expect(later.length).toBe(1);
    await new Promise((r) => setTimeout(r, 1_100));
    // The first mark is now a horizon old (this tick's is not): the early rows go, in batches of 2.
    expect(await prune.run()).toBe(3);
    // Below that mark nothing is left: the next tick issues no delete until a later mark ages.
    const before = own.app.services.sql.total;
    own.app.services.sql.record(true);
    try {
      expect(await prune.run()).toBe(0);
      expect(own.app.services.sql.statements.filter((q) => q.includes('DELETE FROM asset_graph_changes'))).toEqual([]);
    } finally {
      own.app.services.sql.record(false);
    }
    expect(own.app.services.sql.total).toBeGreaterThan(before); // the tick's mark was taken
    expect(await changeXids(own, tenantId)).toEqual(later);
    // And a copy read after the prune, within its lifetime, still sees a change after it.
    const cache = new LineageGraphCache(ds, repo, 1_000);
    await cache.warm(tenantId);
    await link(own, tenantId, 'b', ['z']);
    expect(await cache.page(tenantId, walk)).toBeNull();
  } finally {
    await own.stop();
    await db.drop();
  }
});

it('runs as one of the scheduler’s sweeps', () => {
  expect(t.app.scheduler?.sweeps.map((s) => s.name)).toContain('prune-asset-graph-changes');
});
