import { afterAll, beforeAll, expect, it } from 'vitest';
import { AssetGraphRepository, type GraphWalk } from '../src/repositories/asset-graph.repository';
import { GraphChangesPrune } from '../src/services/assets/graph-changes-prune';
import { LineageGraphCache } from '../src/services/assets/lineage-graph-cache';
import { record, ver } from './support/assets';
import { waitFor } from './support/dag-helpers';
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
const link = (tenantId: string, to: string, from: string[]) =>
  record(t, tenantId, {
    assets: [{ assetKey: to, version: ver(`${to}${from.join()}`) }],
    upstreamAssets: from.map((f) => ({ assetKey: f, version: ver(f) })),
  });

async function changeXids(tenantId: string): Promise<bigint[]> {
  const rows: Array<{ xid: string }> = await t.app.services.ds.query(
    `SELECT xid::text AS xid FROM asset_graph_changes WHERE tenant_id = $1 ORDER BY xid`,
    [tenantId],
  );
  return rows.map((r) => BigInt(r.xid));
}

it('reads a copy again, without checking it, once its snapshot is older than the copy lifetime', async () => {
  const { tenantId } = await t.tenant('executor');
  await link(tenantId, 'b', ['a']);
  const cache = new LineageGraphCache(t.app.services.ds, repo, 1_000, 100);
  await cache.warm(tenantId);
  expect((await cache.page(tenantId, walk))?.nodes.map((n) => n[0])).toContain('a');
  await new Promise((r) => setTimeout(r, 150));
  // Past its lifetime: the request walks in SQL (null) and the copy is read again.
  expect(await cache.page(tenantId, walk)).toBeNull();
  await cache.warm(tenantId);
  expect((await cache.page(tenantId, walk))?.nodes.map((n) => n[0])).toContain('a');
});

it('removes the rows of transactions below a mark a horizon old, and keeps the later ones', async () => {
  const { tenantId } = await t.tenant('executor');
  await link(tenantId, 'b', ['a']);
  await link(tenantId, 'c', ['b']);
  await link(tenantId, 'd', ['c']);
  const early = await changeXids(tenantId);
  expect(early.length).toBe(3);
  // Other test files' transactions may hold the cluster's xmin back: the first mark is taken
  // once every early change is below it.
  await waitFor(async () => BigInt(await repo.snapshotXmin(t.app.services.ds)) > early[2], 10_000);
  const prune = new GraphChangesPrune(t.app.services.ds, repo, { horizonMs: 300, markEveryMs: 0, batch: 2 });
  expect(await prune.run()).toBe(0); // the first mark: nothing is a horizon old yet
  await link(tenantId, 'e', ['d']);
  const later = (await changeXids(tenantId)).filter((x) => !early.includes(x));
  expect(later.length).toBe(1);
  await new Promise((r) => setTimeout(r, 350));
  // The first mark is now a horizon old: the early rows go (in batches of 2), the later stays.
  expect(await prune.run()).toBeGreaterThanOrEqual(3);
  expect(await changeXids(tenantId)).toEqual(later);
  // Below that mark nothing is left: the next ticks issue no delete until a later mark ages.
  const deletes = t.app.services.sql.total;
  t.app.services.sql.record(true);
  try {
    expect(await prune.run()).toBe(0);
    expect(t.app.services.sql.statements.filter((q) => q.includes('DELETE FROM asset_graph_changes'))).toEqual([]);
  } finally {
    t.app.services.sql.record(false);
  }
  expect(t.app.services.sql.total).toBeGreaterThan(deletes); // the tick's mark was taken
  // And a copy read before the prune, still within its lifetime, sees the change after it.
  const cache = new LineageGraphCache(t.app.services.ds, repo, 1_000);
  await cache.warm(tenantId);
  await link(tenantId, 'b', ['z']);
  expect(await cache.page(tenantId, walk)).toBeNull();
});

it('runs as one of the scheduler’s sweeps', () => {
  expect(t.app.scheduler?.sweeps.map((s) => s.name)).toContain('prune-asset-graph-changes');
});
