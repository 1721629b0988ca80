import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeJob, holdingExecutor, rowCounts, type HeldJob } from './support/held-jobs';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * A seeded fuzz of the three write mutations: valid inputs with one to three parts
 * replaced by wrong types, NULs, lone surrogates, deep nesting, huge or negative numbers,
 * bad dates and oversize strings. No answer may be a 5xx or INTERNAL_SERVER_ERROR, and
 * the rows written are exactly those of the accepted calls. FUZZ_SEED=<n> replays a run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? randomBytes(4).readUInt32BE(0));
const CASES = 330;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const hold = holdingExecutor();
let t: TestApp;
let key: string;
let tenantId: string;
let held: HeldJob;
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [hold.invoker] });
  ({ key, tenantId } = await t.tenant('admin'));
  held = await activeJob(t, key);
});
afterAll(async () => {
  hold.releaseAll();
  await t?.stop();
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const V = (c: string) => `v:sha256:${c.repeat(64)}`;

const SUBMIT = `mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id progress { total } } }`;
const RECORD = `mutation ($input: RecordMaterializationsInput!) {
  recordMaterializations(input: $input) { alreadyRecorded materializations { id } } }`;
const SET_STATE = `mutation ($input: SetTaskStateInput!) { setTaskState(input: $input) { key tryNumber } }`;

describe(`seeded fuzz of submitDag, recordMaterializations and setTaskState (FUZZ_SEED=${SEED})`, () => {
  it(`finds no INTERNAL_SERVER_ERROR and no 5xx in ${CASES} inputs, and writes only what it accepts`, async () => {
    console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} replays this run)`);
    const rnd = prng(SEED);
    const int = (n: number) => Math.floor(rnd() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
    const nest = (levels: number, list: boolean): Json => {
      let v: Json = 'leaf';
      for (let i = 0; i < levels; i += 1) v = list ? [v] : { n: v };
      return v;
    };
    const bad: Array<() => Json> = [
      () => pick<Json>([42, -1, 3.5, true, false, 'text', null, {}, [], { x: 1 }, [1, 'a']]),
      () => pick<Json>(['a\u0000b', '\u0000', { k: 'x\u0000' }, { ['k\u0000']: 1 }, ['\u0000']]),
      () => pick<Json>(['\uD800', 'x\uDFFFy', 'ok\uD83D', { ['\uDBFF']: 1 }, ['\uDC00']]),
      () => nest(65 + int(600), rnd() < 0.5),
      () =>
        pick<Json>([
          2 ** 31,
          -(2 ** 31) - 1,
          2 ** 53 + 2,
          1e308,
          -1e308,
          Number.MAX_SAFE_INTEGER,
          -1,
          0,
          -7,
          '9223372036854775808',
          '-9223372036854775809',
          '99999999999999999999',
          '-1',
        ]),
      () => pick<Json>(['99999-01-01T00:00:00Z', '2020-02-30T00:00:00Z', '0000-01-01T00:00:00Z', 'not a date', '']),
      () => 'x'.repeat(pick([129, 256, 4_096, 70_000, 100_000])),
    ];

    /** Every path of a JSON tree (the root excluded), as key lists. */
    const paths = (v: Json, at: Array<string | number> = []): Array<Array<string | number>> => {
      if (v === null || typeof v !== 'object') return [];
      const kids = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
      return kids.flatMap(([k, x]) => [[...at, k], ...paths(x, [...at, k])]);
    };
    const mutate = (input: { [k: string]: Json }): { [k: string]: Json } => {
      const copy = structuredClone(input);
      const times = 1 + int(3);
      for (let m = 0; m < times; m += 1) {
        const all = paths(copy);
        const path = pick(all);
        let parent: Json = copy;
        for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[k];
        const last = path[path.length - 1];
        const p = parent as Record<string | number, Json>;
        const r = rnd();
        if (r < 0.08 && !Array.isArray(parent)) delete p[last];
        else if (r < 0.14 && !Array.isArray(parent)) p[`unknown${int(9)}`] = 1;
        else p[last] = pick(bad)();
      }
      return copy;
    };

    const submitInput = (i: number): { [k: string]: Json } => ({
      id: `fz-${SEED}-${i}`,
      name: 'fuzz',
      metadata: { team: 'ocr', n: [1, 2] },
      jobs: [
        {
          id: 'a',
          name: 'extract',
          executor: 'fuzz-unhosted',
          priority: 5,
          data: { pages: [1, 2, { lang: 'en' }] },
          retryLimit: 1,
          retryDelay: 2,
          retryBackoff: true,
          startAfter: '2030-01-01T00:00:00Z',
          expireInSeconds: 60,
          softSla: '2031-01-01T00:00:00Z',
          hardSla: '2031-06-01T00:00:00Z',
          partitionKey: 'p1',
          assets: [{ key: 'fz/text', isRequired: true }],
        },
        { id: 'b', name: 'store', executor: 'fuzz-unhosted', dependencies: ['a'] },
      ],
    });
    const recordInput = (i: number): { [k: string]: Json } => ({
      storageEventId: `se-${i}`,
      dagId: `outside-${SEED}-${i}`,
      nodeTaskId: 'node',
      partitionKey: 'p1',
      assets: [
        {
          assetKey: `fz/m${i}`,
          version: V('a'),
          kind: 'text',
          sizeBytes: '1024',
          checksum: 'sha256:00',
          uri: 's3://bucket/key',
          metadata: { pages: [1, 2] },
          codeFingerprint: 'git:abc',
          promptFingerprint: 'p-1',
        },
      ],
      upstreamAssets: [{ assetKey: 'fz/source', version: V('b'), partitionKey: null }],
    });
    const stateInput = (i: number): { [k: string]: Json } => ({
      dagId: held.dagId,
      taskId: held.taskId,
      tryNumber: held.tryNumber,
      key: `k${i}`,
      value: { rows: [1, 'two', { three: 3 }] },
      metadata: { source: 'fuzz' },
    });

    const before = await rowCounts(t, tenantId);
    let acceptedDags = 0;
    let acceptedJobs = 0;
    let newMaterializations = 0;
    const stateKeys = new Set<string>();
    const refusedCodes = new Map<string, number>();
    const failures: string[] = [];

    for (let i = 0; i < CASES; i += 1) {
      const which = i % 3;
      const base = which === 0 ? submitInput(i) : which === 1 ? recordInput(i) : stateInput(i);
      const input = rnd() < 0.15 ? base : mutate(base);
      const query = which === 0 ? SUBMIT : which === 1 ? RECORD : SET_STATE;
      const res = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables: { input } }),
      });
      const body = (await res.json()) as {
        data?: Record<string, Record<string, unknown> | null> | null;
        errors?: Array<{ message: string; extensions?: { code?: string } }>;
      };
      const code = body.errors?.[0]?.extensions?.code;
      if (res.status >= 500 || body.errors?.some((e) => e.extensions?.code === 'INTERNAL_SERVER_ERROR')) {
        failures.push(`case ${i} (${query.slice(11, 40)}): HTTP ${res.status} ${JSON.stringify(body.errors)}`);
        continue;
      }
      if (body.errors?.length) {
        refusedCodes.set(String(code), (refusedCodes.get(String(code)) ?? 0) + 1);
        continue;
      }
      if (which === 0) {
        acceptedDags += 1;
        acceptedJobs += (body.data?.submitDag?.progress as { total: number }).total;
      } else if (which === 1) {
        const r = body.data?.recordMaterializations as { alreadyRecorded: number; materializations: unknown[] };
        newMaterializations += r.materializations.length - r.alreadyRecorded;
      } else {
        stateKeys.add(String(body.data?.setTaskState?.key));
      }
    }
    console.log(
      `fuzz seed ${SEED}: accepted ${acceptedDags} DAGs, ${newMaterializations} materializations, ${stateKeys.size} state keys; refused ${JSON.stringify(Object.fromEntries(refusedCodes))}`,
    );
    expect(failures).toEqual([]);
    const after = await rowCounts(t, tenantId);
    expect(after.dags - before.dags).toBe(acceptedDags);
    expect(after.jobs - before.jobs).toBe(acceptedJobs);
    expect(after.materializations - before.materializations).toBe(newMaterializations);
    expect(after.task_state - before.task_state).toBe(stateKeys.size);
    // The fuzz exercised both sides: some inputs accepted, most refused with BAD_USER_INPUT.
    expect(acceptedDags + newMaterializations + stateKeys.size).toBeGreaterThan(0);
    expect(refusedCodes.get('BAD_USER_INPUT') ?? 0).toBeGreaterThan(CASES / 3);
  });
});
