import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, startTestApp, type TestApp } from './support/test-app';
import {
  DATASET_SCHEMA,
  JOB_SCHEMA,
  LINEAGE,
  olHelpers,
  PRODUCER,
  runEvent,
  versionFacet,
} from './support/openlineage';

/*
 * OpenLineage ingest and mapping, with events built from the 2-0-2 specification's rules:
 * RunEvent (run.runId, job.namespace, job.name), DatasetEvent (dataset), JobEvent (job).
 */

let t: TestApp;
let h: ReturnType<typeof olHelpers>;
beforeAll(async () => {
  t = await startTestApp({ env: { LOG_LEVEL: process.env.OL_LOG ?? 'silent' } });
  h = olHelpers(t);
});
afterAll(async () => {
  await t?.stop();
});

describe('OpenLineage ingest', () => {
  it('stores every event type (201) and maps datasets to assets with the original names in tags', async () => {
    const ex = await t.tenant('executor');
    const runId = randomUUID();
    const job = { namespace: 'spark://cluster', name: 'etl.daily' };
    const out = { namespace: 's3://bucket', name: '/warehouse/orders table', facets: versionFacet('17') };
    expect(
      (
        await h.post(
          ex.key,
          runEvent('START', runId, job, { inputs: [{ namespace: 'pg://db', name: 'public.orders' }] }),
        )
      ).status,
    ).toBe(201);
    const done = await h.post(ex.key, runEvent('COMPLETE', runId, job, { outputs: [out] }));
    expect(done).toEqual({ status: 201, body: { stored: 1 } });
    const dsEvent = {
      eventTime: new Date().toISOString(),
      producer: PRODUCER,
      schemaURL: DATASET_SCHEMA,
      dataset: { namespace: 'pg://db', name: 'public.customers', facets: { schema: { fields: [{ name: 'id' }] } } },
    };
    const jobEvent = {
      eventTime: new Date().toISOString(),
      producer: PRODUCER,
      schemaURL: JOB_SCHEMA,
      job: { namespace: 'airflow', name: 'dag.task' },
      inputs: [{ namespace: 'pg://db', name: 'public.customers' }],
      outputs: [],
    };
    expect((await h.post(ex.key, [dsEvent, jobEvent], '/api/v1/lineage/batch')).status).toBe(201);
    expect(await h.count(ex.tenantId)).toBe(4);

    const a = await h.asset(ex.key, 'ol/s3---bucket/-warehouse-orders-table');
    expect(a?.openLineage).toEqual({ namespace: 's3://bucket', name: '/warehouse/orders table' });
    expect(a?.tags).toMatchObject({
      'openlineage.namespace': 's3://bucket',
      'openlineage.name': '/warehouse/orders table',
    });
    // The version facet's datasetVersion is the FRAMED payload; upstream = the run's inputs, summed over its events.
    const v = ok(
      await t.gql<{ computeAssetVersion: string }>(
        `{ computeAssetVersion(input: { payloadBase64: "MTc=" }) }`,
        {},
        ex.key,
      ),
    );
    expect(a?.latest?.version).toBe(v.computeAssetVersion);
    expect(a?.latest?.upstream.map((u) => u.assetKey)).toEqual(['ol/pg---db/public.orders']);
    expect(a?.latest?.nodeTaskId).toBe('spark://cluster/etl.daily');
    expect((await h.asset(ex.key, 'ol/pg---db/public.customers'))?.openLineage).toEqual({
      namespace: 'pg://db',
      name: 'public.customers',
    });
    const stored = await h.events(ex.key, runId);
    expect(stored.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    expect(stored[1]).toMatchObject({ outputs: [{ name: '/warehouse/orders table' }] });
    // Another tenant sees none of it.
    const other = await t.tenant('reader');
    expect(await h.events(other.key, runId)).toEqual([]);
    expect(await h.asset(other.key, a!.key)).toBeNull();
  });

  it('merges facets by name (last wins, _deleted removes) and sums inputs over a run', async () => {
    const ex = await t.tenant('executor');
    const runId = randomUUID();
    const job = { namespace: 'ns', name: 'merge' };
    const o = { namespace: 'ns', name: 'merged' };
    await h.post(
      ex.key,
      runEvent('START', runId, job, {
        inputs: [{ namespace: 'ns', name: 'in1' }],
        outputs: [{ ...o, facets: versionFacet('a') }],
      }),
    );
    await h.post(
      ex.key,
      runEvent('RUNNING', runId, job, {
        inputs: [{ namespace: 'ns', name: 'in2' }],
        outputs: [{ ...o, facets: versionFacet('b') }],
      }),
    );
    await h.post(
      ex.key,
      runEvent('COMPLETE', runId, job, { outputs: [{ ...o, facets: { version: { _deleted: true } } }] }),
    );
    const a = await h.asset(ex.key, 'ol/ns/merged');
    // The version facet was deleted: the version is FRAMED over (namespace, name, runId), not 'a' or 'b'.
    const declared = ok(
      await t.gql<{ computeAssetVersion: string }>(
        `{ computeAssetVersion(input: { payloadBase64: "Yg==" }) }`,
        {},
        ex.key,
      ),
    );
    expect(a?.latest?.version).not.toBe(declared.computeAssetVersion);
    expect(a?.latest?.version).toMatch(/^v:sha256:[0-9a-f]{64}$/);
    expect(a?.latest?.upstream.map((u) => u.assetKey).sort()).toEqual(['ol/ns/in1', 'ol/ns/in2']);
    const [run] = await h.sql<{ outputs: Array<{ facets: Record<string, unknown> }> }>(
      `SELECT outputs FROM ol_runs WHERE tenant_id = $1 AND run_id = $2`,
      [ex.tenantId, runId],
    );
    expect(run.outputs[0].facets).toEqual({});
  });

  it('gives colliding and over-long keys a ~suffix and keeps the mapping reversible', async () => {
    const ex = await t.tenant('executor');
    const long = 'x'.repeat(300);
    const e = runEvent(
      'COMPLETE',
      randomUUID(),
      { namespace: 'ns', name: 'keys' },
      {
        outputs: [
          { namespace: 'a b', name: 't' },
          { namespace: 'a:b', name: 't' },
          { namespace: 'ns', name: long },
        ],
      },
    );
    expect((await h.post(ex.key, e)).status).toBe(201);
    const rows = await h.sql<{ namespace: string; name: string; asset_key: string }>(
      `SELECT namespace, name, asset_key FROM ol_datasets WHERE tenant_id = $1 ORDER BY namespace, name`,
      [ex.tenantId],
    );
    const keyOf = (ns: string, n: string) => rows.find((r) => r.namespace === ns && r.name === n)!.asset_key;
    const ab = [keyOf('a b', 't'), keyOf('a:b', 't')].sort();
    expect(ab[0]).toBe('ol/a-b/t');
    expect(ab[1]).toMatch(/^ol\/a-b\/t~[0-9a-f]{8}$/);
    expect(keyOf('ns', long)).toMatch(/^ol\/ns\/x+~[0-9a-f]{8}$/);
    expect(keyOf('ns', long)).toHaveLength(255);
    for (const r of rows)
      expect((await h.asset(ex.key, r.asset_key))?.openLineage).toEqual({ namespace: r.namespace, name: r.name });
  });

  it('maps colliding datasets that arrive at the same time in separate batches', async () => {
    const ex = await t.tenant('executor');
    for (let round = 0; round < 5; round++) {
      const pairs = [`r${round} x`, `r${round}:x`, `r${round}/x`].map((ns) => ({ namespace: ns, name: 't' }));
      const res = await Promise.all(
        pairs.map((o) =>
          h.post(ex.key, runEvent('COMPLETE', randomUUID(), { namespace: 'ns', name: 'race' }, { outputs: [o] })),
        ),
      );
      expect(res.map((r) => r.status)).toEqual([201, 201, 201]);
      const keys = await h.sql<{ asset_key: string }>(
        `SELECT asset_key FROM ol_datasets WHERE tenant_id = $1 AND namespace = ANY($2::text[])`,
        [ex.tenantId, pairs.map((p) => p.namespace)],
      );
      expect(new Set(keys.map((k) => k.asset_key)).size).toBe(3);
      expect(keys.filter((k) => k.asset_key === `ol/r${round}-x/t`)).toHaveLength(1);
    }
  });

  it('groups a child run under its parent when the child arrives first', async () => {
    const ex = await t.tenant('executor');
    const parentRun = randomUUID();
    const childRun = randomUUID();
    const parentJob = { namespace: 'airflow', name: 'daily_dag' };
    const parentFacet = {
      parent: {
        _producer: PRODUCER,
        _schemaURL: 'https://openlineage.io/spec/facets/1-0-0/ParentRunFacet.json',
        run: { runId: parentRun },
        job: parentJob,
      },
    };
    await h.post(
      ex.key,
      runEvent(
        'COMPLETE',
        childRun,
        { namespace: 'airflow', name: 'daily_dag.load' },
        { runFacets: parentFacet, outputs: [{ namespace: 'pg', name: 'loaded' }] },
      ),
    );
    await h.post(ex.key, runEvent('START', parentRun, parentJob));
    await h.post(ex.key, runEvent('COMPLETE', parentRun, parentJob));
    const a = await h.asset(ex.key, 'ol/pg/loaded');
    expect(a?.latest).toMatchObject({ dagId: parentRun, nodeTaskId: 'airflow/daily_dag.load' });
    const runs = await h.sql<{ run_id: string; parent_run_id: string | null; state: string }>(
      `SELECT run_id, parent_run_id, state FROM ol_runs WHERE tenant_id = $1 ORDER BY run_id = $2 DESC`,
      [ex.tenantId, parentRun],
    );
    expect(runs).toEqual([
      { run_id: parentRun, parent_run_id: null, state: 'COMPLETE' },
      { run_id: childRun, parent_run_id: parentRun, state: 'COMPLETE' },
    ]);
    expect((await h.events(ex.key, parentRun)).map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
  });

  it('keeps raw events append-only', async () => {
    const ex = await t.tenant('executor');
    await h.post(ex.key, runEvent('START', randomUUID(), { namespace: 'ns', name: 'ao' }));
    await expect(
      t.app.services.ds.query(`UPDATE ol_events SET event_type = 'FAIL' WHERE tenant_id = $1`, [ex.tenantId]),
    ).rejects.toThrow(/append-only/);
  });

  it('Spark then Airflow: lineage reaches both Spark inputs, and a new Spark version makes the Airflow output stale', async () => {
    const ex = await t.tenant('executor');
    const spark = { namespace: 'spark://prod', name: 'orders_enrich' };
    const inputs = [
      { namespace: 'hdfs://nn', name: '/raw/orders' },
      { namespace: 'hdfs://nn', name: '/raw/customers' },
    ];
    const columnLineage = {
      columnLineage: {
        _producer: PRODUCER,
        _schemaURL: 'https://openlineage.io/spec/facets/1-0-1/ColumnLineageDatasetFacet.json',
        fields: {
          customer_name: { inputFields: [{ namespace: 'hdfs://nn', name: '/raw/customers', field: 'name' }] },
          amount: { inputFields: [{ namespace: 'hdfs://nn', name: '/raw/orders', field: 'amount' }] },
        },
      },
    };
    const enriched = { namespace: 'hdfs://nn', name: '/gold/orders_enriched', facets: columnLineage };
    const sparkRun = async () => {
      const r = randomUUID();
      const batch = [
        runEvent('START', r, spark, { inputs }),
        runEvent('COMPLETE', r, spark, { inputs, outputs: [enriched] }),
      ];
      expect((await h.post(ex.key, batch, '/api/v1/lineage/batch')).status).toBe(201);
    };
    await sparkRun();
    const airflowRun = randomUUID();
    const airflow = { namespace: 'airflow', name: 'report.build' };
    const report = { namespace: 'postgres://wh', name: 'reports.daily' };
    const read = { inputs: [{ namespace: enriched.namespace, name: enriched.name }] };
    expect((await h.post(ex.key, runEvent('START', airflowRun, airflow, read))).status).toBe(201);
    expect(await h.post(ex.key, runEvent('COMPLETE', airflowRun, airflow, { outputs: [report] }))).toMatchObject({
      status: 201,
    });

    const finalKey = 'ol/postgres---wh/reports.daily';
    const nodes = ok(
      await t.gql<{ lineage: { nodes: Array<{ assetKey: string; distance: number }> } }>(
        LINEAGE,
        { k: finalKey },
        ex.key,
      ),
    ).lineage.nodes;
    expect(Object.fromEntries(nodes.map((n) => [n.assetKey, n.distance]))).toEqual({
      [finalKey]: 0,
      'ol/hdfs---nn/-gold-orders_enriched': -1,
      'ol/hdfs---nn/-raw-orders': -2,
      'ol/hdfs---nn/-raw-customers': -2,
    });
    expect((await h.asset(ex.key, finalKey))?.latest?.isStale).toBe(false);
    await sparkRun(); // a new run: a new version of the enriched table
    const after = await h.asset(ex.key, finalKey);
    expect(after?.latest?.isStale).toBe(true);
    expect(after?.latest?.staleReasons).toContainEqual({
      cause: 'UPSTREAM_CHANGED',
      assetKey: 'ol/hdfs---nn/-gold-orders_enriched',
    });
  });

  it('costs one statement for openLineage over a list of assets', async () => {
    const ex = await t.tenant('executor');
    const outputs = Array.from({ length: 20 }, (_, i) => ({ namespace: 'ns', name: `many${i}` }));
    await h.post(ex.key, runEvent('COMPLETE', randomUUID(), { namespace: 'ns', name: 'many' }, { outputs }));
    const q = `{ assets(first: 50) { edges { node { key openLineage { namespace name } } } } }`;
    const before = t.app.services.sql.total;
    const data = ok(
      await t.gql<{ assets: { edges: Array<{ node: { key: string; openLineage: { name: string } | null } }> } }>(
        q,
        {},
        ex.key,
      ),
    );
    const statements = t.app.services.sql.total - before;
    expect(data.assets.edges).toHaveLength(20);
    expect(data.assets.edges.every((e) => e.node.openLineage?.name === e.node.key.slice('ol/ns/'.length))).toBe(true);
    // Auth, the page, its count and one statement for all the openLineage fields.
    const without = t.app.services.sql.total;
    ok(await t.gql(`{ assets(first: 50) { edges { node { key } } } }`, {}, ex.key));
    expect(statements - (t.app.services.sql.total - without)).toBe(1);
  });
});
