import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { conflict } from '../src/errors/domain-error';
import type { MaterializationView } from '../src/services/assets/asset-views';
import { createBoundAssetTracker, recordMaterializations } from '../src/worker/asset-tracker';
import { one, RECORD, record, ver, type RecordPayload } from './support/assets';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});
afterEach(() => {
  delete t.app.services.materializations.hooks.beforeRecord;
  delete t.app.services.materializations.hooks.afterRecord;
});

const count = async (tenantId: string, table: string): Promise<number> => {
  const rows: Array<{ n: number }> = await t.app.services.ds.query(
    `SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`,
    [tenantId],
  );
  return rows[0]?.n ?? 0;
};

const batch = (n: number, prefix = 'ocr') => ({
  dagId: 'dag-1',
  nodeTaskId: 'ocr_node',
  jobId: 'job-1',
  assets: Array.from({ length: n }, (_, i) => ({
    assetKey: `${prefix}/a${i}`,
    version: ver(`content ${i}`),
    kind: 'text',
    sizeBytes: String(100 + i),
    checksum: `sha256:${i}`,
    metadata: { i },
  })),
  upstreamAssets: [{ assetKey: 'doc/input', version: ver('the document') }],
});

describe('recordMaterializations', () => {
  it('records a batch, upserts the registry, writes lineage, edges and latest pointers', async () => {
    const ex = await t.tenant('executor');
    const res = ok(await t.gql<RecordPayload>(RECORD, { i: batch(3) }, ex.key)).recordMaterializations;
    expect(res.alreadyRecorded).toBe(0);
    expect(res.materializations.map((m) => m.assetKey)).toEqual(['ocr/a0', 'ocr/a1', 'ocr/a2']);
    expect(await count(ex.tenantId, 'materializations')).toBe(3);
    expect(await count(ex.tenantId, 'materialization_lineage')).toBe(3);
    expect(await count(ex.tenantId, 'asset_edges')).toBe(3);
    expect(await count(ex.tenantId, 'assets')).toBe(4); // three outputs and the document
    const q = `{ asset(key: "ocr/a1") { key namespace kind upstream { key } latest { id version sizeBytes metadata jobId dagId nodeTaskId } }
      doc: asset(key: "doc/input") { downstream { key } } }`;
    const data = ok(
      await t.gql<{
        asset: { namespace: string; kind: string; upstream: Array<{ key: string }>; latest: Record<string, unknown> };
        doc: { downstream: Array<{ key: string }> };
      }>(q, {}, ex.key),
    );
    expect(data.asset).toMatchObject({ namespace: 'ocr', kind: 'text', upstream: [{ key: 'doc/input' }] });
    expect(data.asset.latest).toMatchObject({
      id: res.materializations[1]?.id,
      sizeBytes: '101',
      metadata: { i: 1 },
      jobId: 'job-1',
      dagId: 'dag-1',
      nodeTaskId: 'ocr_node',
    });
    expect(data.doc.downstream.map((d) => d.key)).toEqual(['ocr/a0', 'ocr/a1', 'ocr/a2']);
  });

  it('returns a replay of the same batch and counts it in alreadyRecorded, leaving one copy', async () => {
    const ex = await t.tenant('executor');
    const first = ok(await t.gql<RecordPayload>(RECORD, { i: batch(4) }, ex.key)).recordMaterializations;
    const again = ok(await t.gql<RecordPayload>(RECORD, { i: batch(4) }, ex.key)).recordMaterializations;
    expect(again.alreadyRecorded).toBe(4);
    expect(again.materializations.map((m) => m.id)).toEqual(first.materializations.map((m) => m.id));
    expect(await count(ex.tenantId, 'materializations')).toBe(4);
    expect(await count(ex.tenantId, 'materialization_lineage')).toBe(4);
  });

  it('treats a missing partition, dag and node as equal on replay (NULLS NOT DISTINCT)', async () => {
    const ex = await t.tenant('executor');
    const input = { assets: [{ assetKey: 'ext/x', version: ver('x') }] };
    ok(await t.gql(RECORD, { i: input }, ex.key));
    const again = ok(await t.gql<RecordPayload>(RECORD, { i: input }, ex.key)).recordMaterializations;
    expect(again.alreadyRecorded).toBe(1);
    expect(await count(ex.tenantId, 'materializations')).toBe(1);
  });

  it('refuses a replay with another checksum as CONFLICT and writes nothing of that batch', async () => {
    const ex = await t.tenant('executor');
    ok(await t.gql(RECORD, { i: batch(2) }, ex.key));
    const changed = batch(3);
    const second = changed.assets[1];
    if (second) second.checksum = 'sha256:other';
    const res = await t.gql(RECORD, { i: changed }, ex.key);
    expect(codeOf(res)).toBe('CONFLICT');
    expect(res.errors?.[0]?.extensions?.field).toBe('input.assets[1].checksum');
    expect(await count(ex.tenantId, 'materializations')).toBe(2); // ocr/a2 was not kept either
  });

  it('leaves one copy when two identical batches race', async () => {
    const ex = await t.tenant('executor');
    const [a, b] = await Promise.all([
      t.gql<RecordPayload>(RECORD, { i: batch(20) }, ex.key),
      t.gql<RecordPayload>(RECORD, { i: batch(20) }, ex.key),
    ]);
    const ra = ok(a).recordMaterializations;
    const rb = ok(b).recordMaterializations;
    expect(ra.alreadyRecorded + rb.alreadyRecorded).toBe(20);
    expect(ra.materializations.map((m) => m.id)).toEqual(rb.materializations.map((m) => m.id));
    expect(await count(ex.tenantId, 'materializations')).toBe(20);
    expect(await count(ex.tenantId, 'materialization_lineage')).toBe(20);
  });

  it('refuses a batch with one bad asset as a whole, naming the field and index', async () => {
    const ex = await t.tenant('executor');
    const input = batch(5);
    const bad = input.assets[3];
    if (bad) bad.version = '';
    const res = await t.gql(RECORD, { i: input }, ex.key);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe('input.assets[3].version');
    expect(await count(ex.tenantId, 'materializations')).toBe(0);
    expect(await count(ex.tenantId, 'assets')).toBe(0);
  });

  it('enforces every limit with BAD_USER_INPUT naming the field', async () => {
    const ex = await t.tenant('executor');
    const base = { assetKey: 'ok/key', version: 'v1' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ assets: [base, { ...base, assetKey: 'bad key!' }] }, 'input.assets[1].assetKey'],
      [{ assets: [{ ...base, assetKey: 'k'.repeat(256) }] }, 'input.assets[0].assetKey'],
      [{ assets: [{ ...base, version: 'v'.repeat(129) }] }, 'input.assets[0].version'],
      [{ assets: [{ ...base, version: 'tab\there' }] }, 'input.assets[0].version'],
      [{ assets: [{ ...base, sizeBytes: '-1' }] }, 'input.assets[0].sizeBytes'],
      [{ assets: [{ ...base, metadata: [1, 2] }] }, 'input.assets[0].metadata'],
      [{ assets: [{ ...base, metadata: { big: 'x'.repeat(65 * 1024) } }] }, 'input.assets[0].metadata'],
      [{ assets: [base, base] }, 'input.assets[1]'],
      [{ assets: Array.from({ length: 1001 }, (_, i) => ({ assetKey: `k/${i}`, version: 'v' })) }, 'input.assets'],
      [
        {
          assets: [base],
          upstreamAssets: Array.from({ length: 1001 }, (_, i) => ({ assetKey: `u/${i}`, version: 'v' })),
        },
        'input.upstreamAssets',
      ],
      [
        {
          assets: Array.from({ length: 200 }, (_, i) => ({ assetKey: `k/${i}`, version: 'v' })),
          upstreamAssets: Array.from({ length: 501 }, (_, i) => ({ assetKey: `u/${i}`, version: 'v' })),
        },
        'input.upstreamAssets',
      ],
      [{ assets: [base], upstreamAssets: [{ assetKey: 'u/1', version: '' }] }, 'input.upstreamAssets[0].version'],
    ];
    for (const [input, field] of cases) {
      const res = await t.gql(RECORD, { i: input }, ex.key);
      expect(codeOf(res), field).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field, JSON.stringify(res.errors)).toBe(field);
    }
    expect(await count(ex.tenantId, 'materializations')).toBe(0);
    // At the limits it is accepted.
    const atLimit = {
      assets: Array.from({ length: 100 }, (_, i) => ({ assetKey: `k/${i}`, version: 'v', sizeBytes: 0 })),
      upstreamAssets: Array.from({ length: 1000 }, (_, i) => ({ assetKey: `u/${i}`, version: 'v' })),
    };
    const res = ok(await t.gql<RecordPayload>(RECORD, { i: atLimit }, ex.key));
    expect(res.recordMaterializations.materializations).toHaveLength(100);
    expect(await count(ex.tenantId, 'materialization_lineage')).toBe(100_000);
  });

  it('costs the same number of statements for 10 and for 300 assets', async () => {
    const ex = await t.tenant('executor');
    const sql = t.app.services.sql;
    const measure = async (n: number, prefix: string) => {
      const before = sql.total;
      await t.app.services.materializations.record(ex.tenantId, batch(n, prefix));
      return sql.total - before;
    };
    expect(await measure(300, 'big')).toBe(await measure(10, 'small'));
  });

  it('lets only executors record, and submitters register', async () => {
    const reader = await t.tenant('reader');
    expect(codeOf(await t.gql(RECORD, { i: batch(1) }, reader.key))).toBe('FORBIDDEN');
    const submitter = await t.tenant('submitter');
    expect(codeOf(await t.gql(RECORD, { i: batch(1) }, submitter.key))).toBe('FORBIDDEN');
    const reg = 'mutation ($i: RegisterAssetInput!) { registerAsset(input: $i) { key kind description tags } }';
    expect(codeOf(await t.gql(reg, { i: { key: 'a/b' } }, reader.key))).toBe('FORBIDDEN');
    const made = ok(
      await t.gql<{ registerAsset: Record<string, unknown> }>(
        reg,
        { i: { key: 'claims/x', kind: 'json', description: 'claims', tags: { team: 'billing' } } },
        submitter.key,
      ),
    );
    expect(made.registerAsset).toEqual({
      key: 'claims/x',
      kind: 'json',
      description: 'claims',
      tags: { team: 'billing' },
    });
    // Absent fields are kept; given ones change.
    const updated = ok(
      await t.gql<{ registerAsset: Record<string, unknown> }>(
        reg,
        { i: { key: 'claims/x', kind: 'table' } },
        submitter.key,
      ),
    );
    expect(updated.registerAsset).toEqual({
      key: 'claims/x',
      kind: 'table',
      description: 'claims',
      tags: { team: 'billing' },
    });
    const bad = await t.gql(reg, { i: { key: 'no spaces' } }, submitter.key);
    expect(codeOf(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.extensions?.field).toBe('input.key');
  });

  it('moves latest pointers only forward: a replay of an older version leaves them alone', async () => {
    const ex = await t.tenant('executor');
    const v1 = { assets: [{ assetKey: 'fwd/x', version: 'v1', partitionKey: 'p' }] };
    await record(t, ex.tenantId, v1);
    await record(t, ex.tenantId, { assets: [{ assetKey: 'fwd/x', version: 'v2', partitionKey: 'p' }] });
    const again = await t.app.services.materializations.record(ex.tenantId, v1);
    expect(again.alreadyRecorded).toBe(1);
    const q = '{ asset(key: "fwd/x") { latest { version } p: latest(partitionKey: "p") { version } } }';
    const data = ok(await t.gql<{ asset: { latest: { version: string }; p: { version: string } } }>(q, {}, ex.key));
    expect(data.asset).toEqual({ latest: { version: 'v2' }, p: { version: 'v2' } });
  });

  it('fills in a kind only where the registry has none', async () => {
    const ex = await t.tenant('executor');
    await t.app.services.assets.register(ex.tenantId, { key: 'kinds/set', kind: 'table' });
    await record(t, ex.tenantId, {
      assets: [
        { assetKey: 'kinds/set', version: 'v', kind: 'json' },
        { assetKey: 'kinds/new', version: 'v', kind: 'json' },
      ],
      upstreamAssets: [{ assetKey: 'kinds/up', version: 'u' }],
    });
    await record(t, ex.tenantId, { assets: [{ assetKey: 'kinds/up', version: 'u', kind: 'document' }] });
    const found = await t.app.services.assets.byKeys(ex.tenantId, ['kinds/set', 'kinds/new', 'kinds/up']);
    expect([...found.values()].map((a) => [a.key, a.kind]).sort()).toEqual([
      ['kinds/new', 'json'],
      ['kinds/set', 'table'],
      ['kinds/up', 'document'],
    ]);
  });

  it("runs inside the caller's transaction with opts.manager (a rollback keeps nothing)", async () => {
    const ex = await t.tenant('executor');
    await expect(
      t.app.services.ds.transaction(async (manager) => {
        await t.app.services.materializations.record(ex.tenantId, batch(2), { manager });
        throw new Error('caller gives up');
      }),
    ).rejects.toThrow('caller gives up');
    expect(await count(ex.tenantId, 'materializations')).toBe(0);
    expect(await count(ex.tenantId, 'assets')).toBe(0);
  });
});

describe('record hooks', () => {
  it('calls beforeRecord and afterRecord inside the transaction; afterRecord gets only new rows', async () => {
    const ex = await t.tenant('executor');
    const calls: Array<{ hook: string; inTx: boolean; n?: number }> = [];
    const hooks = t.app.services.materializations.hooks;
    hooks.beforeRecord = async (manager, tenantId, input) => {
      expect(tenantId).toBe(ex.tenantId);
      calls.push({ hook: 'before', inTx: !!manager.queryRunner?.isTransactionActive, n: input.assets.length });
    };
    hooks.afterRecord = async (manager, _tenantId, created) => {
      // The rows are visible inside the transaction.
      const rows: unknown[] = await manager.query('SELECT id FROM materializations WHERE id = ANY($1::bigint[])', [
        created.map((c) => c.id),
      ]);
      calls.push({ hook: 'after', inTx: !!manager.queryRunner?.isTransactionActive, n: rows.length });
    };
    ok(await t.gql(RECORD, { i: batch(2) }, ex.key));
    const more = batch(3); // two replays and one new
    ok(await t.gql(RECORD, { i: more }, ex.key));
    expect(calls).toEqual([
      { hook: 'before', inTx: true, n: 2 },
      { hook: 'after', inTx: true, n: 2 },
      { hook: 'before', inTx: true, n: 3 },
      { hook: 'after', inTx: true, n: 1 },
    ]);
  });

  it('writes nothing when beforeRecord throws, and the error reaches the caller', async () => {
    const ex = await t.tenant('executor');
    t.app.services.materializations.hooks.beforeRecord = async (manager, tenantId) => {
      // Even what the hook itself wrote is rolled back.
      await manager.query(`INSERT INTO assets (tenant_id, key) VALUES ($1, 'hook/wrote')`, [tenantId]);
      throw conflict('stale attempt');
    };
    const res = await t.gql(RECORD, { i: batch(2) }, ex.key);
    expect(codeOf(res)).toBe('CONFLICT');
    expect(res.errors?.[0]?.message).toBe('stale attempt');
    expect(await count(ex.tenantId, 'materializations')).toBe(0);
    expect(await count(ex.tenantId, 'assets')).toBe(0);
  });
});

describe('executor SDK', () => {
  it('records through a bound tracker, lists upstream node outputs and never throws', async () => {
    const ex = await t.tenant('executor');
    const services = t.app.services;
    const ocr = createBoundAssetTracker(services, {
      tenantId: ex.tenantId,
      dagId: 'd1',
      nodeTaskId: 'ocr',
      jobId: 'job-ocr',
      tryNumber: 1,
      upstreamNodeTaskIds: [],
    });
    const first = await ocr.record([
      { assetKey: 'ocr/text', version: ver('t1'), uri: 'file:///t1' },
      { assetKey: 'ocr/bboxes', version: ver('b1') },
    ]);
    expect(first).toMatchObject({ ok: true, alreadyRecorded: 0 });
    expect(first.materializationIds).toHaveLength(2);
    await ocr.record([{ assetKey: 'ocr/text', version: ver('t2'), uri: 'file:///t2' }]);
    const classify = createBoundAssetTracker(services, {
      tenantId: ex.tenantId,
      dagId: 'd1',
      nodeTaskId: 'classify',
      jobId: 'job-classify',
      tryNumber: 2,
      upstreamNodeTaskIds: ['ocr'],
      partitionKey: 'page-1',
    });
    const up = await classify.upstream();
    expect(up.sort((a, b) => a.assetKey.localeCompare(b.assetKey))).toEqual([
      { assetKey: 'ocr/bboxes', version: ver('b1'), partitionKey: null, uri: null, nodeTaskId: 'ocr' },
      { assetKey: 'ocr/text', version: ver('t2'), partitionKey: null, uri: 'file:///t2', nodeTaskId: 'ocr' },
    ]);
    const rec = await classify.record([{ assetKey: 'classify/type', version: ver('invoice') }], up);
    expect(rec.ok).toBe(true);
    const [m] = [...(await services.materializations.byIds(ex.tenantId, rec.materializationIds)).values()];
    expect(m).toMatchObject({ partitionKey: 'page-1', jobId: 'job-classify', tryNumber: 2, nodeTaskId: 'classify' });

    // Bad input and a refusing hook come back as { ok: false }, never as a throw.
    const bad = await classify.record([{ assetKey: 'bad key', version: 'v' }]);
    expect(bad).toMatchObject({ ok: false, materializationIds: [] });
    expect(bad.error).toMatch(/assetKey/);
    services.materializations.hooks.beforeRecord = async () => {
      throw new Error('database away');
    };
    const refused = await recordMaterializations(services, ex.tenantId, {
      assets: [{ assetKey: 'x/y', version: 'v' }],
    });
    expect(refused).toEqual({ ok: false, materializationIds: [], alreadyRecorded: 0, error: 'database away' });
  });
});

describe('reads', () => {
  it('pages assets with filters, cursors and totalCount', async () => {
    const ex = await t.tenant('executor');
    await record(t, ex.tenantId, {
      assets: [
        { assetKey: 'ocr/text', version: 'v1', kind: 'text' },
        { assetKey: 'ocr/bboxes', version: 'v1', kind: 'bbox' },
        { assetKey: 'ocr/confidence', version: 'v1', kind: 'metadata' },
        { assetKey: 'extract/claims', version: 'v1', kind: 'json' },
      ],
    });
    await t.app.services.assets.register(ex.tenantId, { key: 'extract/headers', description: 'Claim 100%_headers' });
    const q = `query ($ns: String, $kind: String, $s: String, $first: Int, $after: String) {
      assets(namespace: $ns, kind: $kind, search: $s, first: $first, after: $after) {
        totalCount edges { cursor node { key } } pageInfo { hasNextPage hasPreviousPage endCursor }
      }
    }`;
    type R = {
      assets: {
        totalCount: number;
        edges: Array<{ node: { key: string } }>;
        pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string };
      };
    };
    const keys = (r: R) => r.assets.edges.map((e) => e.node.key);
    const p1 = ok(await t.gql<R>(q, { ns: 'ocr', first: 2 }, ex.key));
    expect(keys(p1)).toEqual(['ocr/bboxes', 'ocr/confidence']);
    expect(p1.assets).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true, hasPreviousPage: false } });
    const p2 = ok(await t.gql<R>(q, { ns: 'ocr', first: 2, after: p1.assets.pageInfo.endCursor }, ex.key));
    expect(keys(p2)).toEqual(['ocr/text']);
    expect(p2.assets.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(keys(ok(await t.gql<R>(q, { kind: 'json' }, ex.key)))).toEqual(['extract/claims']);
    expect(keys(ok(await t.gql<R>(q, { s: 'CONF' }, ex.key)))).toEqual(['ocr/confidence']);
    expect(keys(ok(await t.gql<R>(q, { s: '100%_' }, ex.key)))).toEqual(['extract/headers']);
    expect(ok(await t.gql<R>(q, {}, ex.key)).assets.totalCount).toBe(5);
    const bad = await t.gql(q, { after: '%%%' }, ex.key);
    expect(codeOf(bad)).toBe('BAD_USER_INPUT');
  });

  it('pages materializations and partitions of an asset, and finds latest per partition', async () => {
    const ex = await t.tenant('executor');
    const made: MaterializationView[] = [];
    for (const [i, p] of ['p1', 'p2', 'p1', 'p3', null].entries()) {
      made.push(await one(t, ex.tenantId, 'doc/pages', `c${i}`, [], { partitionKey: p, dagId: i < 2 ? 'dA' : 'dB' }));
    }
    const q = `{ asset(key: "doc/pages") {
      latest { id } p1: latest(partitionKey: "p1") { id } none: latest(partitionKey: "zz") { id }
      all: materializations(first: 2) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } }
      onP1: materializations(partitionKey: "p1") { totalCount }
      inDagA: materializations(dagId: "dA") { totalCount }
      partitions(first: 2) { totalCount edges { node { key latest { id } } } pageInfo { hasNextPage } }
    } }`;
    type Conn = {
      totalCount: number;
      edges: Array<{ node: { id: string } }>;
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
    type A = {
      latest: { id: string };
      p1: { id: string };
      none: null;
      all: Conn;
      onP1: Conn;
      inDagA: Conn;
      partitions: Omit<Conn, 'edges'> & { edges: Array<{ node: { key: string; latest: { id: string } } }> };
    };
    const a = ok(await t.gql<{ asset: A }>(q, {}, ex.key)).asset;
    const id = (i: number) => made[i]?.id;
    expect(a.latest).toEqual({ id: id(4) });
    expect(a.p1).toEqual({ id: id(2) });
    expect(a.none).toBeNull();
    expect(a.all.totalCount).toBe(5);
    expect(a.all.edges.map((e) => e.node.id)).toEqual([id(4), id(3)]);
    expect(a.all.pageInfo.hasNextPage).toBe(true);
    expect(a.onP1.totalCount).toBe(2);
    expect(a.inDagA.totalCount).toBe(2);
    expect(a.partitions.totalCount).toBe(3);
    expect(a.partitions.edges.map((e) => [e.node.key, e.node.latest.id])).toEqual([
      ['p1', id(2)],
      ['p2', id(1)],
    ]);
    const next = `query ($after: String) { asset(key: "doc/pages") { materializations(first: 2, after: $after) { edges { node { id } } } } }`;
    const page2 = ok(
      await t.gql<{ asset: { materializations: Conn } }>(next, { after: a.all.pageInfo.endCursor }, ex.key),
    );
    expect(page2.asset.materializations.edges.map((e) => e.node.id)).toEqual([id(2), id(1)]);
  });

  it('answers the nested assets query with the same number of statements for 5 and for 50 assets', async () => {
    const q = `{ assets(first: 50) { edges { node { latest { upstream { materialization { id } } } downstream { key } } } } }`;
    const measure = async (n: number) => {
      const ex = await t.tenant('executor');
      const doc = await one(t, ex.tenantId, 'doc/root', 'root');
      for (let i = 0; i < n - 1; i += 1) await one(t, ex.tenantId, `out/a${i}`, `a${i}`, [doc]);
      ok(await t.gql(q, {}, ex.key)); // warm up (the key's last-used stamp)
      await new Promise((r) => setTimeout(r, 50));
      const before = t.app.services.sql.total;
      const res = ok(await t.gql<{ assets: { edges: unknown[] } }>(q, {}, ex.key));
      const used = t.app.services.sql.total - before;
      expect(res.assets.edges).toHaveLength(n);
      return used;
    };
    const five = await measure(5);
    const fifty = await measure(50);
    expect(fifty).toBe(five);
    expect(five).toBeLessThanOrEqual(8);
  });

  it('reads asset(key) with its latest materialization in one statement, and the latest is the newest', async () => {
    const ex = await t.tenant('executor');
    await one(t, ex.tenantId, 'hot/a', 'first');
    const newest = await one(t, ex.tenantId, 'hot/a', 'second');
    await one(t, ex.tenantId, 'hot/bare', 'x'); // registered with a materialization…
    await t.app.services.assets.register(ex.tenantId, { key: 'hot/none', kind: 'text' }); // …and without
    const q = `{ asset(key: "hot/a") { key latest { id version } }
      none: asset(key: "hot/none") { key latest { id } } missing: asset(key: "hot/zz") { key } }`;
    ok(await t.gql(q, {}, ex.key)); // warm up (the key's last-used stamp)
    await new Promise((r) => setTimeout(r, 50));
    t.app.services.sql.record(true);
    try {
      const res = ok(
        await t.gql<{
          asset: { key: string; latest: { id: string; version: string } };
          none: { key: string; latest: null };
          missing: null;
        }>(q, {}, ex.key),
      );
      expect(res.asset.latest).toEqual({ id: newest.id, version: newest.version });
      expect(res.none).toEqual({ key: 'hot/none', latest: null });
      expect(res.missing).toBeNull();
      // The API key's look-up (AUTH_CACHE_MS=0 here) and one statement for the three assets and their latest.
      const reads = t.app.services.sql.statements.filter((s) => !s.includes('api_keys'));
      expect(reads).toHaveLength(1);
    } finally {
      t.app.services.sql.record(false);
    }
  });
});
