import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, startTestApp, type TestApp } from './support/test-app';

/*
 * OpenLineage ingest, with events built from the 2-0-2 specification's rules:
 * RunEvent (run.runId, job.namespace, job.name), DatasetEvent (dataset), JobEvent (job),
 * each with eventTime, producer and schemaURL.
 */

let t: TestApp;
let base: string;
beforeAll(async () => {
  t = await startTestApp({ env: { LOG_LEVEL: process.env.OL_LOG ?? 'silent' } });
  base = t.url.replace('/graphql', '');
});
afterAll(async () => {
  await t?.stop();
});

const PRODUCER = 'https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/spark';
const RUN_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
const DATASET_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent';
const JOB_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent';

interface Ds {
  namespace: string;
  name: string;
  facets?: Record<string, unknown>;
}

function runEvent(
  eventType: string,
  runId: string,
  job: { namespace: string; name: string },
  io: { inputs?: Ds[]; outputs?: Ds[]; runFacets?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return {
    eventType,
    eventTime: new Date().toISOString(),
    producer: PRODUCER,
    schemaURL: RUN_SCHEMA,
    run: { runId, facets: io.runFacets ?? {} },
    job: { ...job, facets: {} },
    inputs: io.inputs ?? [],
    outputs: io.outputs ?? [],
  };
}

const versionFacet = (v: string) => ({
  version: {
    _producer: PRODUCER,
    _schemaURL: 'https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json',
    datasetVersion: v,
  },
});

async function post(key: string, body: unknown, path = '/api/v1/lineage', raw = false) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as { stored?: number; error?: { code: string; path?: string } },
  };
}

const EVENTS = `query ($r: ID!) { openLineageEvents(runId: $r) }`;
const ASSET = `query ($k: String!) { asset(key: $k) { key tags openLineage { namespace name }
  latest { version dagId nodeTaskId isStale staleReasons { cause assetKey } upstream { assetKey version } } } }`;
const LINEAGE = `query ($k: String!) { lineage(assetKey: $k, direction: UPSTREAM, depth: 10) { nodes { assetKey distance } } }`;

interface AssetData {
  key: string;
  tags: Record<string, string> | null;
  openLineage: { namespace: string; name: string } | null;
  latest: {
    version: string;
    dagId: string | null;
    nodeTaskId: string | null;
    isStale: boolean;
    staleReasons: Array<{ cause: string; assetKey: string }>;
    upstream: Array<{ assetKey: string; version: string }>;
  } | null;
}
const asset = async (key: string, k: string) => ok(await t.gql<{ asset: AssetData | null }>(ASSET, { k }, key)).asset;
const events = async (key: string, r: string) =>
  ok(await t.gql<{ openLineageEvents: Array<Record<string, unknown>> }>(EVENTS, { r }, key)).openLineageEvents;
const sql = async <T>(text: string, params: unknown[]): Promise<T[]> => {
  const out: T[] = await t.app.services.ds.query(text, params);
  return out;
};
const count = async (tenantId: string): Promise<number> => {
  const [r] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ol_events WHERE tenant_id = $1`, [tenantId]);
  return r.n;
};

describe('OpenLineage ingest', () => {
  it('stores every event type (201) and maps datasets to assets with the original names in tags', async () => {
    const ex = await t.tenant('executor');
    const runId = randomUUID();
    const job = { namespace: 'spark://cluster', name: 'etl.daily' };
    const out = { namespace: 's3://bucket', name: '/warehouse/orders table', facets: versionFacet('17') };
    expect(
      (await post(ex.key, runEvent('START', runId, job, { inputs: [{ namespace: 'pg://db', name: 'public.orders' }] })))
        .status,
    ).toBe(201);
    const done = await post(ex.key, runEvent('COMPLETE', runId, job, { outputs: [out] }));
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
    expect((await post(ex.key, [dsEvent, jobEvent], '/api/v1/lineage/batch')).status).toBe(201);
    expect(await count(ex.tenantId)).toBe(4);

    const a = await asset(ex.key, 'ol/s3---bucket/-warehouse-orders-table');
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
    expect((await asset(ex.key, 'ol/pg---db/public.customers'))?.openLineage).toEqual({
      namespace: 'pg://db',
      name: 'public.customers',
    });
    const stored = await events(ex.key, runId);
    expect(stored.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    expect(stored[1]).toMatchObject({ outputs: [{ name: '/warehouse/orders table' }] });
    // Another tenant sees none of it.
    const other = await t.tenant('reader');
    expect(await events(other.key, runId)).toEqual([]);
    expect(await asset(other.key, a!.key)).toBeNull();
  });

  it('is lenient where clients differ: no zone, nanoseconds, no schemaURL', async () => {
    const ex = await t.tenant('executor');
    const job = { namespace: 'ns', name: 'lenient' };
    const cases = [
      { ...runEvent('START', randomUUID(), job), eventTime: '2024-05-01T10:11:12.123456' },
      { ...runEvent('START', randomUUID(), job), eventTime: '2024-05-01T10:11:12.123456789Z' },
      { ...runEvent('START', randomUUID(), job), eventTime: '2024-05-01T10:11:12.5+02:00' },
      (() => {
        const e = runEvent('START', randomUUID(), job);
        delete e.schemaURL;
        return e;
      })(),
    ];
    for (const e of cases) expect((await post(ex.key, e)).status).toBe(201);
    const rows = await sql<{ event_time: Date }>(`SELECT event_time FROM ol_events WHERE tenant_id = $1 ORDER BY id`, [
      ex.tenantId,
    ]);
    expect(rows.slice(0, 3).map((r) => r.event_time.toISOString())).toEqual([
      '2024-05-01T10:11:12.123Z',
      '2024-05-01T10:11:12.123Z',
      '2024-05-01T08:11:12.500Z',
    ]);
  });

  it('refuses each way to be invalid with its status and JSON path, storing nothing', async () => {
    const ex = await t.tenant('executor');
    const good = () =>
      runEvent(
        'COMPLETE',
        randomUUID(),
        { namespace: 'ns', name: 'bad' },
        { outputs: [{ namespace: 'ns', name: 'never' }] },
      );
    const without = (k: string) => {
      const e = good();
      delete e[k];
      return e;
    };
    const cases: Array<[unknown, number, string, string?]> = [
      ['{"eventTime": ', 400, '$'],
      ['[1, 2]', 400, '$'],
      ['"text"', 400, '$'],
      [without('eventTime'), 422, '$.eventTime'],
      [{ ...good(), eventTime: 'yesterday' }, 422, '$.eventTime'],
      [{ ...good(), eventTime: '2024-13-45T10:00:00Z' }, 422, '$.eventTime'],
      [without('producer'), 422, '$.producer'],
      [{ ...good(), producer: 'not a uri' }, 422, '$.producer'],
      [{ ...good(), schemaURL: 42 }, 422, '$.schemaURL'],
      [{ ...good(), run: { runId: 'not-a-uuid' } }, 422, '$.run.runId'],
      [{ ...good(), run: {} }, 422, '$.run.runId'],
      [{ ...good(), run: 'x' }, 422, '$.run'],
      [without('job'), 422, '$.job'],
      [{ ...good(), job: { namespace: 'ns' } }, 422, '$.job.name'],
      [{ ...good(), job: { name: 'n' } }, 422, '$.job.namespace'],
      [{ ...good(), eventType: 'FINISHED' }, 422, '$.eventType'],
      [{ ...good(), outputs: [{ namespace: 'ns' }] }, 422, '$.outputs[0].name'],
      [{ ...good(), inputs: {} }, 422, '$.inputs'],
      [
        {
          ...good(),
          run: { runId: randomUUID(), facets: { parent: { run: { runId: 'x' }, job: { namespace: 'a', name: 'b' } } } },
        },
        422,
        '$.run.facets.parent.run.runId',
      ],
      [{ ...good(), run: { runId: randomUUID(), facets: { nominalTime: 3 } } }, 422, '$.run.facets.nominalTime'],
      [
        { eventTime: new Date().toISOString(), producer: PRODUCER, schemaURL: DATASET_SCHEMA, dataset: { name: 'x' } },
        422,
        '$.dataset.namespace',
      ],
      [{ eventTime: new Date().toISOString(), producer: PRODUCER }, 422, '$'],
      [good(), 400, '$', '/api/v1/lineage/batch'],
      [[], 422, '$', '/api/v1/lineage/batch'],
      [[good(), without('producer')], 422, '$[1].producer', '/api/v1/lineage/batch'],
      [[good(), 7], 400, '$[1]', '/api/v1/lineage/batch'],
    ];
    for (const [body, status, path, route] of cases) {
      const res = await post(ex.key, body, route, typeof body === 'string');
      expect({ status: res.status, path: res.body.error?.path }, JSON.stringify(body).slice(0, 200)).toEqual({
        status,
        path,
      });
    }
    expect(await count(ex.tenantId)).toBe(0);
    expect(
      ok(await t.gql<{ assets: { totalCount: number } }>(`{ assets { totalCount } }`, {}, ex.key)).assets.totalCount,
    ).toBe(0);
  });

  it('requires the executor role and a key', async () => {
    const reader = await t.tenant('submitter');
    const e = runEvent('START', randomUUID(), { namespace: 'ns', name: 'n' });
    expect((await post(reader.key, e)).status).toBe(403);
    expect((await post('nope', e)).status).toBe(401);
    expect(await count(reader.tenantId)).toBe(0);
  });

  it('merges facets by name (last wins, _deleted removes) and sums inputs over a run', async () => {
    const ex = await t.tenant('executor');
    const runId = randomUUID();
    const job = { namespace: 'ns', name: 'merge' };
    const o = { namespace: 'ns', name: 'merged' };
    await post(
      ex.key,
      runEvent('START', runId, job, {
        inputs: [{ namespace: 'ns', name: 'in1' }],
        outputs: [{ ...o, facets: versionFacet('a') }],
      }),
    );
    await post(
      ex.key,
      runEvent('RUNNING', runId, job, {
        inputs: [{ namespace: 'ns', name: 'in2' }],
        outputs: [{ ...o, facets: versionFacet('b') }],
      }),
    );
    await post(
      ex.key,
      runEvent('COMPLETE', runId, job, { outputs: [{ ...o, facets: { version: { _deleted: true } } }] }),
    );
    const a = await asset(ex.key, 'ol/ns/merged');
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
    const [run] = await sql<{ outputs: Array<{ facets: Record<string, unknown> }> }>(
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
    expect((await post(ex.key, e)).status).toBe(201);
    const rows = await sql<{ namespace: string; name: string; asset_key: string }>(
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
      expect((await asset(ex.key, r.asset_key))?.openLineage).toEqual({ namespace: r.namespace, name: r.name });
  });

  it('maps colliding datasets that arrive at the same time in separate batches', async () => {
    const ex = await t.tenant('executor');
    for (let round = 0; round < 5; round++) {
      const pairs = [`r${round} x`, `r${round}:x`, `r${round}/x`].map((ns) => ({ namespace: ns, name: 't' }));
      const res = await Promise.all(
        pairs.map((o) =>
          post(ex.key, runEvent('COMPLETE', randomUUID(), { namespace: 'ns', name: 'race' }, { outputs: [o] })),
        ),
      );
      expect(res.map((r) => r.status)).toEqual([201, 201, 201]);
      const keys = await sql<{ asset_key: string }>(
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
    await post(
      ex.key,
      runEvent(
        'COMPLETE',
        childRun,
        { namespace: 'airflow', name: 'daily_dag.load' },
        { runFacets: parentFacet, outputs: [{ namespace: 'pg', name: 'loaded' }] },
      ),
    );
    await post(ex.key, runEvent('START', parentRun, parentJob));
    await post(ex.key, runEvent('COMPLETE', parentRun, parentJob));
    const a = await asset(ex.key, 'ol/pg/loaded');
    expect(a?.latest).toMatchObject({ dagId: parentRun, nodeTaskId: 'airflow/daily_dag.load' });
    const runs = await sql<{ run_id: string; parent_run_id: string | null; state: string }>(
      `SELECT run_id, parent_run_id, state FROM ol_runs WHERE tenant_id = $1 ORDER BY run_id = $2 DESC`,
      [ex.tenantId, parentRun],
    );
    expect(runs).toEqual([
      { run_id: parentRun, parent_run_id: null, state: 'COMPLETE' },
      { run_id: childRun, parent_run_id: parentRun, state: 'COMPLETE' },
    ]);
    expect((await events(ex.key, parentRun)).map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
  });

  it('keeps raw events append-only', async () => {
    const ex = await t.tenant('executor');
    await post(ex.key, runEvent('START', randomUUID(), { namespace: 'ns', name: 'ao' }));
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
      expect((await post(ex.key, batch, '/api/v1/lineage/batch')).status).toBe(201);
    };
    await sparkRun();
    const airflowRun = randomUUID();
    const airflow = { namespace: 'airflow', name: 'report.build' };
    const report = { namespace: 'postgres://wh', name: 'reports.daily' };
    const read = { inputs: [{ namespace: enriched.namespace, name: enriched.name }] };
    expect((await post(ex.key, runEvent('START', airflowRun, airflow, read))).status).toBe(201);
    expect(await post(ex.key, runEvent('COMPLETE', airflowRun, airflow, { outputs: [report] }))).toMatchObject({
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
    expect((await asset(ex.key, finalKey))?.latest?.isStale).toBe(false);
    await sparkRun(); // a new run: a new version of the enriched table
    const after = await asset(ex.key, finalKey);
    expect(after?.latest?.isStale).toBe(true);
    expect(after?.latest?.staleReasons).toContainEqual({
      cause: 'UPSTREAM_CHANGED',
      assetKey: 'ol/hdfs---nn/-gold-orders_enriched',
    });
  });

  it('costs one statement for openLineage over a list of assets', async () => {
    const ex = await t.tenant('executor');
    const outputs = Array.from({ length: 20 }, (_, i) => ({ namespace: 'ns', name: `many${i}` }));
    await post(ex.key, runEvent('COMPLETE', randomUUID(), { namespace: 'ns', name: 'many' }, { outputs }));
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
