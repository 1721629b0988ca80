import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENTS_KEPT } from '../src/server/graphql-fast-path';
import { startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
let reader: { tenantId: string; key: string };
beforeAll(async () => {
  t = await startTestApp({ env: { HTTP_BODY_LIMIT: '64kb', GRAPHQL_MAX_COST: '10', AUTH_CACHE_MS: '5000' } });
  const ex = await t.tenant('executor');
  const rec = await t.gql(
    `mutation($i: RecordMaterializationsInput!) { recordMaterializations(input: $i) { alreadyRecorded } }`,
    { i: { assets: [{ assetKey: 'fp/hot', version: 'v1', kind: 'text', uri: 's3://b/hot', sizeBytes: '42' }] } },
    ex.key,
  );
  expect(rec.errors).toBeUndefined();
  reader = { tenantId: ex.tenantId, key: ex.key };
});
afterAll(async () => {
  await t?.stop();
});

interface Raw {
  status: number;
  headers: string[];
  body: string;
}

/** A POST /graphql with exactly these headers; the answer's raw header lines, Date left out. */
function post(body: string, headers: Record<string, string>): Promise<Raw> {
  const url = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: '/graphql', method: 'POST', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const lines: string[] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            if (res.rawHeaders[i].toLowerCase() !== 'date')
              lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
          resolve({ status: res.statusCode ?? 0, headers: lines, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function fastPathCount(outcome: 'answered' | 'slow'): Promise<number> {
  const text = await (await fetch(t.url.replace('/graphql', '/metrics'))).text();
  const m = new RegExp(`^marie_graphql_http_fast_path_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * The same request twice: with an Accept value the fast path takes, and with one that
 * Apollo negotiates to the same content type but the fast path leaves to Express and Apollo.
 */
async function bothWays(
  body: string,
  headers: Record<string, string>,
  accept: { fast?: string; slow: string },
): Promise<{ fast: Raw; slow: Raw; answered: number; slowed: number }> {
  const [a0, s0] = [await fastPathCount('answered'), await fastPathCount('slow')];
  const fast = await post(body, { ...headers, ...(accept.fast ? { accept: accept.fast } : {}), 'x-request-id': 'r-1' });
  const [a1, s1] = [await fastPathCount('answered'), await fastPathCount('slow')];
  const slow = await post(body, { ...headers, accept: accept.slow, 'x-request-id': 'r-1' });
  expect(await fastPathCount('answered')).toBe(a1); // the slow variant never takes the fast path
  return { fast, slow, answered: a1 - a0, slowed: s1 - s0 };
}

const ASSET = `query($k: String!) { asset(key: $k) { key namespace kind latest { id version uri sizeBytes } } }`;
const JSON_ONLY = { slow: 'application/json, text/plain;q=0.5' };
const json = (auth?: string): Record<string, string> => ({
  'content-type': 'application/json',
  ...(auth ? { authorization: `Bearer ${auth}` } : {}),
});

describe('POST /graphql fast path', () => {
  it('answers a plain query itself, with the bytes, status and headers Express and Apollo write', async () => {
    const body = JSON.stringify({ query: ASSET, variables: { k: 'fp/hot' } });
    const accepts: Array<{ fast?: string; slow: string }> = [
      { ...JSON_ONLY },
      { fast: '*/*', ...JSON_ONLY },
      { fast: 'application/json', ...JSON_ONLY },
      {
        fast: 'application/graphql-response+json',
        slow: 'application/graphql-response+json, application/json;q=0.5',
      },
    ];
    for (const accept of accepts) {
      const r = await bothWays(body, json(reader.key), accept);
      expect(r.answered, accept.fast).toBe(1);
      expect(r.slowed, accept.fast).toBe(0);
      expect(r.fast.body).toContain('"key":"fp/hot"');
      expect(r.fast).toEqual(r.slow);
    }
    // A request id of its own when the client gives none, as Express gives.
    const r = await post(body, json(reader.key));
    expect(r.headers.find((h) => h.startsWith('x-request-id: '))).toMatch(/^x-request-id: [0-9a-f-]{36}$/);
  });

  it('keeps at most 500 parsed documents, and none of a query longer than 4 KiB, however many distinct queries come', async () => {
    const kept = async () => {
      const text = await (await fetch(t.url.replace('/graphql', '/metrics'))).text();
      return Number(/^marie_graphql_documents_kept (\d+)/m.exec(text)?.[1]);
    };
    const seen: number[] = [];
    for (let i = 0; i < DOCUMENTS_KEPT + 20; i++) {
      const r = await post(JSON.stringify({ query: `query Distinct${i} { __typename }` }), json(reader.key));
      expect(r.status).toBe(200);
      if (i % 10 === 9) seen.push(await kept());
    }
    expect(Math.max(...seen)).toBeLessThanOrEqual(DOCUMENTS_KEPT);
    // It filled up and started again rather than growing.
    expect(seen.some((n, i) => i > 0 && n < seen[i - 1])).toBe(true);
    const before = await kept();
    const long = await post(
      JSON.stringify({ query: `query Long { __typename ${' '.repeat(5 * 1024)}}` }),
      json(reader.key),
    );
    expect(long.status).toBe(200);
    expect(await kept()).toBe(before);
  });

  it('counts what it answers in the GraphQL metrics', async () => {
    const scrape = async () => {
      const text = await (await fetch(t.url.replace('/graphql', '/metrics'))).text();
      return Number(/^marie_graphql_requests_total\{type="query",outcome="ok"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await scrape();
    const a0 = await fastPathCount('answered');
    await post(JSON.stringify({ query: ASSET, variables: { k: 'fp/none' } }), json(reader.key));
    expect(await fastPathCount('answered')).toBe(a0 + 1);
    expect(await scrape()).toBe(before + 1);
  });

  it('leaves every error, mutation and unusual request to Apollo: the same answers as before', async () => {
    const cases: Array<[string, string, Record<string, string>]> = [
      ['no key', JSON.stringify({ query: ASSET, variables: { k: 'fp/hot' } }), json()],
      ['unknown key', JSON.stringify({ query: ASSET, variables: { k: 'fp/hot' } }), json('mk_nope')],
      ['parse error', JSON.stringify({ query: 'query { asset(' }), json(reader.key)],
      ['validation error', JSON.stringify({ query: '{ asset(key: "a") { nope } }' }), json(reader.key)],
      ['bad variable', JSON.stringify({ query: ASSET, variables: { k: 7 } }), json(reader.key)],
      ['NUL in a variable', JSON.stringify({ query: ASSET, variables: { k: 'a\u0000' } }), json(reader.key)],
      [
        'resolver error',
        JSON.stringify({ query: '{ lineage(assetKey: "fp/none") { totalNodes } }' }),
        json(reader.key),
      ],
      [
        'too deep',
        JSON.stringify({
          query: `{ asset(key: "fp/hot") { ${'latest { asset { '.repeat(8)} key ${'} } '.repeat(8)} } }`,
        }),
        json(reader.key),
      ],
      [
        'too costly',
        JSON.stringify({
          query: `{ asset(key: "fp/hot") { key k2: key k3: key namespace kind latest { id version uri sizeBytes assetKey } } }`,
        }),
        json(reader.key),
      ],
      [
        'two operations, none named',
        JSON.stringify({ query: '{ __typename } query B { __typename }' }),
        json(reader.key),
      ],
      ['operation name not a string', JSON.stringify({ query: ASSET, operationName: 3 }), json(reader.key)],
      ['variables as a string', JSON.stringify({ query: ASSET, variables: '{}' }), json(reader.key)],
      ['extensions', JSON.stringify({ query: '{ __typename }', extensions: { a: 1 } }), json(reader.key)],
      ['an array', JSON.stringify([{ query: '{ __typename }' }]), json(reader.key)],
      ['malformed JSON', '{"query": ', json(reader.key)],
      ['not an object', '"x"', json(reader.key)],
      ['too large', JSON.stringify({ query: `{ __typename }${' '.repeat(100_000)}` }), json(reader.key)],
      ['mutation', JSON.stringify({ query: 'mutation { revokeApiKey(id: "x") }' }), json(reader.key)],
    ];
    for (const [name, body, headers] of cases) {
      const r = await bothWays(body, headers, { fast: 'application/json', slow: JSON_ONLY.slow });
      expect(r.answered, name).toBe(0);
      expect(r.fast, name).toEqual(r.slow);
      // Each case but `extensions` (answered by Apollo) is refused, so the pairs above compare errors.
      const refused = r.fast.status !== 200 || r.fast.body.includes('"errors"');
      expect(refused, `${name}: ${r.fast.body.slice(0, 300)}`).toBe(name !== 'extensions');
    }
  });

  it('leaves other content types, encodings, paths and methods to Express and Apollo', async () => {
    const body = JSON.stringify({ query: ASSET, variables: { k: 'fp/hot' } });
    const a0 = await fastPathCount('answered');
    const s0 = await fastPathCount('slow');
    const plain = await post(body, { ...json(reader.key), 'content-type': 'text/plain' });
    expect(plain.status).toBe(400); // CSRF prevention: a simple request
    const typed = await post(body, { ...json(reader.key), 'content-type': 'application/graphql-response+json' });
    expect(typed.status).toBe(400);
    const get = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { authorization: `Bearer ${reader.key}`, 'apollo-require-preflight': '1' },
    });
    expect(await get.json()).toEqual({ data: { __typename: 'Query' } });
    expect([await fastPathCount('answered'), await fastPathCount('slow')]).toEqual([a0, s0]);
  });
});

describe('asset(key) under concurrent load', () => {
  it("answers a tenant's concurrent requests each with its own asset, never another tenant's, and sees every committed write", async () => {
    const other = await t.tenant('executor');
    const record = (key: string, tenantKey: string, version: string) =>
      t.gql(
        `mutation($i: RecordMaterializationsInput!) { recordMaterializations(input: $i) { alreadyRecorded } }`,
        { i: { assets: [{ assetKey: key, version, uri: `s3://b/${version}` }] } },
        tenantKey,
      );
    for (let i = 0; i < 10; i += 1) await record(`fp/c${i}`, reader.key, `v${i}`);
    await record('fp/c0', other.key, 'theirs');
    const ask = (k: string, key: string) =>
      post(JSON.stringify({ query: ASSET, variables: { k } }), json(key)).then(
        (r) => (JSON.parse(r.body) as { data: { asset: { latest: { version: string } } | null } }).data.asset,
      );
    const asked = Array.from({ length: 40 }, (_, i) => i);
    const answers = await Promise.all(asked.map((i) => ask(`fp/c${i % 10}`, i % 4 === 3 ? other.key : reader.key)));
    expect(answers.map((a) => a?.latest.version ?? null)).toEqual(
      asked.map((i) => (i % 4 !== 3 ? `v${i % 10}` : i % 10 === 0 ? 'theirs' : null)),
    );
    // A write committed before a request is in its answer, however busy the tenant.
    const busy = asked.map(() => ask('fp/c1', reader.key));
    await record('fp/c1', reader.key, 'v1-new');
    expect((await ask('fp/c1', reader.key))?.latest.version).toBe('v1-new');
    await Promise.all(busy);
  });

  it('reads the assets asked in one turn of the event loop in one statement per tenant', async () => {
    const other = await t.tenant('executor');
    const { assets, sql } = t.app.services;
    sql.record(true);
    const found = await Promise.all([
      assets.byKeysWithLatest(reader.tenantId, ['fp/hot']),
      assets.byKeysWithLatest(reader.tenantId, ['fp/c2', 'fp/none']),
      assets.byKeysWithLatest(other.tenantId, ['fp/hot']),
      assets.byKeysWithLatest(reader.tenantId, ['fp/hot', 'fp/c3']),
    ]);
    const statements = sql.statements.filter((s) => s.includes('JOIN asset_latest')).length;
    sql.record(false);
    expect(statements).toBe(2);
    expect(found.map((m) => [...m.keys()])).toEqual([['fp/hot'], ['fp/c2'], [], ['fp/hot', 'fp/c3']]);
    expect(found[0].get('fp/hot')?.latest?.version).toBe('v1');
  });
});

describe('the fast path runs queries compiled (graphql-jit)', () => {
  // The limits of production (the app above has a cost limit of 10).
  let small: TestApp;
  beforeAll(async () => {
    small = t;
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.stop();
    t = small;
  });

  it('answers every shape of query as graphql-js does, byte for byte', async () => {
    const admin = await t.tenant('admin');
    const rec = await t.gql(
      `mutation($i: RecordMaterializationsInput!) { recordMaterializations(input: $i) { alreadyRecorded } }`,
      {
        i: {
          assets: [
            { assetKey: 'sh/a', version: 'va', kind: 'text', sizeBytes: '9007199254740993', metadata: { n: [1, 'x'] } },
          ],
        },
      },
      admin.key,
    );
    expect(rec.errors, JSON.stringify(rec.errors)).toBeUndefined();
    const down = await t.gql(
      `mutation($i: RecordMaterializationsInput!) { recordMaterializations(input: $i) { alreadyRecorded } }`,
      { i: { assets: [{ assetKey: 'sh/b', version: 'vb' }], upstreamAssets: [{ assetKey: 'sh/a', version: 'va' }] } },
      admin.key,
    );
    expect(down.errors, JSON.stringify(down.errors)).toBeUndefined();
    const dag = await t.gql<{ submitDag: { id: string } }>(
      `mutation($input: SubmitDagInput!) { submitDag(input: $input) { id } }`,
      {
        input: {
          name: 'shapes',
          metadata: { a: { b: null } },
          jobs: [0, 1, 2].map((i) => ({
            id: `j${i}`,
            name: 'noop',
            executor: 'noop',
            dependencies: i ? [`j${i - 1}`] : [],
            startAfter: new Date(Date.now() + 3_600_000).toISOString(),
            assets: [{ key: `sh/out${i}`, isRequired: i === 1 }],
          })),
        },
      },
      admin.key,
    );
    expect(dag.errors, JSON.stringify(dag.errors)).toBeUndefined();
    const id = dag.data?.submitDag.id;
    const shapes: Array<[string, Record<string, unknown>]> = [
      [
        `query($id: ID!) { dag(id: $id) { id name state metadata createdAt startedAt slaStatus
          progress { total pending active completed failed skipped percent }
          jobs { id taskId name state jobLevel dependencies { taskId } assetStatus { expectedAssets missingRequiredAssets isComplete } }
          jobGroups { level executor progress { total } }
          assetStatus { nodeTaskId completionPercentage isComplete } } }`,
        { id },
      ],
      [
        `query Q($k: String!, $yes: Boolean!, $no: Boolean = false) {
          a: asset(key: $k) { ...F latest @include(if: $yes) { id version sizeBytes metadata createdAt upstream { assetKey version } } tags @skip(if: $yes) }
          b: asset(key: "sh/none") { key }
          c: asset(key: "sh/b") { ... on Asset { key upstream { key } } latest { upstream { assetKey version } isStale staleReasons { __typename } } }
          __typename
          d: asset(key: $k) @include(if: $no) { key }
        }
        fragment F on Asset { key namespace kind description __typename updatedAt }`,
        { k: 'sh/a', yes: true },
      ],
      [
        `{ lineage(assetKey: "sh/b", direction: BOTH) { totalNodes nodes { assetKey distance } edges { fromAssetKey toAssetKey } }
           asset(key: "sh/b") { key } eventCursor }`,
        {},
      ],
      [
        `query($first: Int) { dags(first: $first, name: "shapes") { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } }
          assets(namespace: "sh", first: 2) { edges { node { key latest { version } } } pageInfo { hasNextPage } } }`,
        { first: 1 },
      ],
    ];
    for (const [query, variables] of shapes) {
      const r = await bothWays(JSON.stringify({ query, variables }), json(admin.key), {
        fast: 'application/json',
        slow: JSON_ONLY.slow,
      });
      expect(r.fast.body, query).not.toContain('"errors"');
      expect(r.answered, `${query}\n${r.fast.body.slice(0, 300)}`).toBe(1);
      expect(r.fast, query).toEqual(r.slow);
    }
  });
});
