import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeJob, holdingExecutor, rowCounts, type HeldJob } from './support/held-jobs';
import { JSONScalar } from '../src/schema/scalars';
import { logTo } from './support/log-capture';
import { ok, startTestApp, type TestApp } from './support/test-app';

/** What the server logs, parsed (the app runs with a debug logger of this test's own). */
const logLines: Array<Record<string, unknown>> = [];

const hold = holdingExecutor();
let t: TestApp;
let key: string;
let tenantId: string;
let held: HeldJob;
beforeAll(async () => {
  t = await startTestApp({
    roles: ['api', 'scheduler', 'worker'],
    executors: [hold.invoker],
    log: logTo(logLines),
  });
  ({ key, tenantId } = await t.tenant('admin'));
  held = await activeJob(t, key);
});
afterAll(async () => {
  hold.releaseAll();
  await t?.stop();
});

const SUBMIT = `mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id } }`;
const RECORD = `mutation ($input: RecordMaterializationsInput!) { recordMaterializations(input: $input) { alreadyRecorded } }`;
const SET_STATE = `mutation ($input: SetTaskStateInput!) { setTaskState(input: $input) { key } }`;
const REGISTER = `mutation ($input: RegisterAssetInput!) { registerAsset(input: $input) { key } }`;
const V = (c: string) => `v:sha256:${c.repeat(64)}`;

interface Answer {
  status: number;
  requestId: string | null;
  body: {
    data?: unknown;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  };
}

async function post(body: string | Record<string, unknown>, accept?: string): Promise<Answer> {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${key}`,
      ...(accept ? { accept } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, requestId: res.headers.get('x-request-id'), body: (await res.json()) as Answer['body'] };
}

/** Refused with BAD_USER_INPUT naming `field` (in extensions.field and the message), HTTP 400, nothing written. */
async function expectRefused(body: string | Record<string, unknown>, field: string): Promise<Answer> {
  const before = await rowCounts(t, tenantId);
  const res = await post(body);
  const error = res.body.errors?.[0];
  expect(error?.extensions?.code, JSON.stringify(res.body).slice(0, 500)).toBe('BAD_USER_INPUT');
  expect(res.status).toBe(400);
  expect(error?.extensions?.field).toBe(field);
  expect(error?.message).toContain(field);
  expect(res.body.data ?? null).toBeNull();
  expect(await rowCounts(t, tenantId)).toEqual(before);
  return res;
}

const job = (over: Record<string, unknown> = {}) => ({ id: 'a', name: 'a', executor: 'noop', ...over });
const dag = (over: Record<string, unknown> = {}) => ({ name: 'bad-input', jobs: [job()], ...over });
const nested = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i += 1) v = { a: v };
  return v;
};

describe('GraphQL variable coercion failures', () => {
  it('refuses a value of the wrong type, naming the variable and the field', async () => {
    const res = await expectRefused(
      { query: SUBMIT, variables: { input: dag({ jobs: [job({ priority: 'high' })] }) } },
      'input.jobs[0].priority',
    );
    expect(res.body.errors?.[0]?.message).toContain('$input');
  });

  it('refuses a missing required input field', async () => {
    await expectRefused({ query: SUBMIT, variables: { input: { jobs: [job()] } } }, 'input.name');
  });

  it('refuses null for a non-null argument and a missing variable', async () => {
    await expectRefused({ query: SUBMIT, variables: { input: null } }, 'input');
    await expectRefused({ query: SUBMIT, variables: {} }, 'input');
  });

  it('refuses an Int out of 32-bit range and a BigInt out of 64-bit range', async () => {
    await expectRefused(
      { query: SUBMIT, variables: { input: dag({ jobs: [job({ retryLimit: 2 ** 31 })] }) } },
      'input.jobs[0].retryLimit',
    );
    await expectRefused(
      {
        query: RECORD,
        variables: { input: { assets: [{ assetKey: 'x/big', version: V('a'), sizeBytes: '9223372036854775808' }] } },
      },
      'input.assets[0].sizeBytes',
    );
    await expectRefused(
      { query: RECORD, variables: { input: { assets: [{ assetKey: 'x/big', version: V('a'), sizeBytes: 'abc' }] } } },
      'input.assets[0].sizeBytes',
    );
  });

  it('refuses a date beyond what PostgreSQL holds, in an input and in an argument', async () => {
    await expectRefused(
      { query: SUBMIT, variables: { input: dag({ jobs: [job({ startAfter: '99999-01-01T00:00:00Z' })] }) } },
      'input.jobs[0].startAfter',
    );
    await expectRefused(
      {
        query: `query ($since: DateTime) { dags(createdAfter: $since) { totalCount } }`,
        variables: { since: '+275760-09-13T00:00:00Z' },
      },
      'since',
    );
  });

  it('answers 200 to a client that accepts only application/json, 400 under application/graphql-response+json', async () => {
    const body = { query: SUBMIT, variables: { input: dag({ jobs: [job({ priority: 'high' })] }) } };
    const json = await post(body, 'application/json');
    expect(json.status).toBe(200);
    expect(json.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const gql = await post(body, 'application/graphql-response+json');
    expect(gql.status).toBe(400);
    expect(gql.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await post(body, 'application/graphql-response+json, application/json;q=0.9')).status).toBe(400);
  });

  it('logs a refused request at debug level with its request id', async () => {
    const res = await post({ query: SUBMIT, variables: { input: dag({ jobs: [job({ priority: 'high' })] }) } });
    const line = logLines.find((l) => l.requestId === res.requestId && l.msg === 'request refused');
    expect(line).toMatchObject({ level: 20, code: 'BAD_USER_INPUT' });
  });
});

describe('text and JSON that cannot be stored', () => {
  it('refuses a NUL character in a string, in JSON, in a JSON key and in a document literal', async () => {
    await expectRefused({ query: SUBMIT, variables: { input: dag({ name: 'x\u0000y' }) } }, 'input.name');
    await expectRefused(
      { query: SUBMIT, variables: { input: dag({ jobs: [job({ data: { text: 'a\u0000b' } })] }) } },
      'input.jobs[0].data.text',
    );
    await expectRefused(
      { query: SUBMIT, variables: { input: dag({ metadata: { 'bad\u0000key': 1 } }) } },
      'input.metadata["bad\\u0000key"]',
    );
    await expectRefused(
      {
        query: RECORD,
        variables: { input: { assets: [{ assetKey: 'x/nul', version: V('a'), metadata: { note: '\u0000' } }] } },
      },
      'input.assets[0].metadata.note',
    );
    await expectRefused(
      { query: `mutation { submitDag(input: { name: "x\\u0000", jobs: [{ id: "a", name: "a" }] }) { id } }` },
      'input.name',
    );
  });

  it('refuses a NUL character in a task state value and metadata, like every other input', async () => {
    const base = { dagId: held.dagId, taskId: held.taskId, tryNumber: held.tryNumber, key: 'k' };
    await expectRefused(
      { query: SET_STATE, variables: { input: { ...base, value: { text: 'a\u0000' } } } },
      'input.value.text',
    );
    await expectRefused(
      { query: SET_STATE, variables: { input: { ...base, value: 1, metadata: { m: '\u0000' } } } },
      'input.metadata.m',
    );
    // The same write without the NUL is the current attempt's and is stored.
    ok(await t.gql(SET_STATE, { input: { ...base, value: { text: 'a' } } }, key));
  });

  it('refuses lone UTF-16 surrogates in strings and JSON', async () => {
    await expectRefused({ query: SUBMIT, variables: { input: dag({ name: 'x\uD800' }) } }, 'input.name');
    await expectRefused(
      { query: SUBMIT, variables: { input: dag({ jobs: [job({ data: { s: '\uDC00x' } })] }) } },
      'input.jobs[0].data.s',
    );
    await expectRefused(
      { query: REGISTER, variables: { input: { key: 'x/sur', description: 'a\uDBFF' } } },
      'input.description',
    );
    // A surrogate pair (an emoji) is fine.
    ok(await t.gql(REGISTER, { input: { key: 'x/emoji', description: 'ok \uD83D\uDE00' } }, key));
  });

  it('accepts JSON nested 64 levels and refuses 65, and 5,000, without a stack overflow', async () => {
    const at = (levels: number) => ({
      query: SUBMIT,
      variables: { input: dag({ jobs: [job({ data: nested(levels) })] }) },
    });
    ok(await t.gql(SUBMIT, at(64).variables, key));
    const res = await expectRefused(at(65), 'input.jobs[0].data');
    expect(res.body.errors?.[0]?.message).toMatch(/deeper than 64 levels/);
    const deep = `{"query":${JSON.stringify(SUBMIT)},"variables":{"input":{"name":"deep","jobs":[{"id":"a","name":"a","data":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}]}}}`;
    await expectRefused(deep, 'input.jobs[0].data');
    const deepState = `{"query":${JSON.stringify(SET_STATE)},"variables":{"input":{"dagId":"${held.dagId}","taskId":"a","tryNumber":${held.tryNumber},"key":"k","value":${'['.repeat(6000)}${']'.repeat(6000)}}}}`;
    await expectRefused(deepState, 'input.value');
  });
});

describe('inputs checked by the services', () => {
  it('refuses a cursor that does not decode', async () => {
    const cursor = (raw: string) => Buffer.from(raw, 'utf8').toString('base64url');
    const dags = `query ($after: String) { dags(after: $after) { totalCount } }`;
    const assets = `query ($after: String) { assets(after: $after) { totalCount } }`;
    await expectRefused({ query: dags, variables: { after: '!!' } }, 'after');
    await expectRefused({ query: dags, variables: { after: cursor('["not a date","x"]') } }, 'after');
    await expectRefused({ query: dags, variables: { after: cursor('["2026-02-30T00:00:00.000Z","x"]') } }, 'after');
    await expectRefused({ query: assets, variables: { after: cursor('a\u0000b') } }, 'after');
    await expectRefused(
      { query: assets, variables: { after: Buffer.from([0xff, 0xfe]).toString('base64url') } },
      'after',
    );
  });

  it('refuses a NUL in the dag_id of GET /api/jobs with 400, not 500', async () => {
    const res = await fetch(`${t.url.replace('/graphql', '')}/api/jobs?dag_id=a%00b`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: 'BAD_USER_INPUT', message: expect.stringContaining('dag_id') },
    });
  });

  it('refuses tags that are not an object', async () => {
    for (const tags of ['red', 3, ['a', 'b'], true]) {
      await expectRefused({ query: REGISTER, variables: { input: { key: 'x/tagged', tags } } }, 'input.tags');
    }
    ok(await t.gql(REGISTER, { input: { key: 'x/tagged', tags: { team: 'ocr' } } }, key));
  });

  it('refuses an asset recorded as its own upstream', async () => {
    await expectRefused(
      {
        query: RECORD,
        variables: {
          input: {
            assets: [{ assetKey: 'x/self', version: V('b') }],
            upstreamAssets: [
              { assetKey: 'doc/in', version: V('c') },
              { assetKey: 'x/self', version: V('a') },
            ],
          },
        },
      },
      'input.upstreamAssets[1]',
    );
  });
});

describe('limits and unknown errors', () => {
  it('answers QUERY_TOO_COMPLEX with 400, not 500', async () => {
    const fields = Array.from({ length: 60 }, (_, i) => `a${i}: assets(first: 1000) { edges { node { key } } }`);
    const res = await post({ query: `{ ${fields.join(' ')} }` });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(res.status).toBe(400);
  });

  it('costs each request of one document by its own variables (costs are kept per document)', async () => {
    const wide = (arg: string, extra = '') =>
      Array.from({ length: 60 }, (_, i) => `a${i}: assets(first: ${arg})${extra} { edges { node { key } } }`).join(' ');
    const byFirst = `query ($n: Int, $s: String) { ${wide('$n')} s: assets(search: $s) { totalCount } }`;
    const byInclude = `query ($more: Boolean!) { one: assets(first: 1) { totalCount } ${wide('1000', ' @include(if: $more)')} }`;
    const code = (r: Answer) => (r.body.errors?.[0]?.extensions?.code as string | undefined) ?? 'ok';
    const answers: string[] = [];
    for (const variables of [
      { n: 10, s: 'a' },
      { n: 1000, s: 'a' },
      { n: 10, s: 'b' },
      { n: 1000, s: 'b' },
    ]) {
      answers.push(code(await post({ query: byFirst, variables })));
    }
    for (const more of [false, true, false]) answers.push(code(await post({ query: byInclude, variables: { more } })));
    expect(answers).toEqual(['ok', 'QUERY_TOO_COMPLEX', 'ok', 'QUERY_TOO_COMPLEX', 'ok', 'QUERY_TOO_COMPLEX', 'ok']);
  });

  it('coerces a submitDag input twice (the input check, execution), not a third time for its cost', async () => {
    const parse = JSONScalar.parseValue;
    let calls = 0;
    JSONScalar.parseValue = (value) => {
      calls += 1;
      return parse(value);
    };
    try {
      const later = new Date(Date.now() + 3_600_000).toISOString();
      const jobs = [{ id: 'a', name: 'a', executor: 'noop', startAfter: later, data: { n: 1 } }];
      ok(await t.gql(SUBMIT, { input: { name: 'coerced', jobs } }, key));
    } finally {
      JSONScalar.parseValue = parse;
    }
    expect(calls).toBe(2);
  });

  it('refuses a bad literal every time the same document comes (literal checks are kept per document)', async () => {
    const query = `mutation { submitDag(input: { name: "again\\u0000", jobs: [{ id: "a", name: "a" }] }) { id } }`;
    for (let i = 0; i < 2; i += 1) await expectRefused({ query }, 'input.name');
  });

  it('masks an unknown error and logs it with the request id', async () => {
    await t.app.services.ds.query('ALTER TABLE workers RENAME TO workers_away');
    try {
      const res = await post({ query: '{ workers { id } }' });
      expect(res.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(res.body.errors?.[0]?.message).toBe('Internal server error');
      const line = logLines.find((l) => l.requestId === res.requestId && l.msg === 'internal error');
      expect(line).toMatchObject({ level: 50 });
      expect(JSON.stringify(line)).toMatch(/workers/);
    } finally {
      await t.app.services.ds.query('ALTER TABLE workers_away RENAME TO workers');
    }
  });
});
