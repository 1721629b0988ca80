import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { one } from './support/assets';
import { startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

/**
 * An operation whose root fields are all `lineage` runs compiled (graphql-jit); add a root
 * `__typename` and the same selection runs on graphql-js. Both must answer alike, errors included.
 */
const both = (selection: string) => [
  `query Q($k: String!) {\n${selection}\n}`,
  `query Q($k: String!) {\n${selection}\n__typename }`,
];
const strip = (data: unknown) => {
  const { __typename: _t, ...rest } = (data ?? {}) as Record<string, unknown>;
  return rest;
};

describe('the compiled executor (lineage queries)', () => {
  it('answers as graphql-js does: aliases, fragments, nested resolvers, variables', async () => {
    const ex = await t.tenant('executor');
    const a = await one(t, ex.tenantId, 'cx/a', 'a');
    const b = await one(t, ex.tenantId, 'cx/b', 'b', [a]);
    await one(t, ex.tenantId, 'cx/c', 'c', [b, a]);
    const selection = `
      up: lineage(assetKey: $k, depth: 3) { ...G nodes { asset { key latest { version } } } upstream { assetKey version } }
      both: lineage(assetKey: "cx/b", direction: BOTH, first: 2) { totalNodes pageInfo { hasNextPage endCursor } ...G downstream }`;
    const fragment = `fragment G on LineageGraph { assetKey direction depth truncated nodes { assetKey distance } edges { fromAssetKey toAssetKey } }`;
    const [compiled, plain] = both(selection).map((q) => `${q}\n${fragment}`);
    const x = await t.gql(compiled, { k: 'cx/c' }, ex.key);
    const y = await t.gql(plain, { k: 'cx/c' }, ex.key);
    expect(x.errors).toBeUndefined();
    expect(y.errors).toBeUndefined();
    expect(x.data).toEqual(strip(y.data));
    expect(JSON.stringify(x.data)).toContain('"latest":{"version"');
    expect((x.data as { up: { edges: unknown[] } }).up.edges).toHaveLength(3);
  });

  it('answers errors as graphql-js does: code, field, message, locations, path and status', async () => {
    const ex = await t.tenant('executor');
    await one(t, ex.tenantId, 'cx/a', 'a');
    for (const [selection, key, code] of [
      ['  lineage(assetKey: $k) { totalNodes }', 'cx/none', 'NOT_FOUND'],
      ['\n    lineage(assetKey: $k, first: -1) { totalNodes }', 'cx/a', 'BAD_USER_INPUT'],
      ['lineage(assetKey: $k, depth: 0) { totalNodes }', 'cx/a', 'BAD_USER_INPUT'],
    ] as const) {
      const [compiled, plain] = both(selection);
      const x = await t.gql(compiled, { k: key }, ex.key);
      const y = await t.gql(plain, { k: key }, ex.key);
      const drop = (e: { extensions?: Record<string, unknown> }) => ({
        ...e,
        extensions: { ...e.extensions, requestId: undefined },
      });
      expect(x.errors?.[0]?.extensions?.code, selection).toBe(code);
      expect(x.errors?.map(drop), selection).toEqual(y.errors?.map(drop));
      expect(x.data ?? null).toEqual(null);
      expect(x.status).toBe(y.status);
    }
    // A reader key may read lineage; no key may not: the same refusal either way.
    const [compiled, plain] = both('lineage(assetKey: $k) { totalNodes }');
    const x = await t.gql(compiled, { k: 'cx/a' });
    const y = await t.gql(plain, { k: 'cx/a' });
    expect(x.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect([x.errors?.[0]?.message, x.status]).toEqual([y.errors?.[0]?.message, y.status]);
  });
});
