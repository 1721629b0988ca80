import { describe, expect, it } from 'vitest';
import { stableJson, validateDag, type SubmitDagInputLike } from '../src/services/dag-validation';

/** stableJson as it was first written (every object copied with its entries sorted): the text it must keep. */
function reference(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}

class Unsorted {
  b = 1;
  a = 2;
}

const bare = Object.assign(Object.create(null) as Record<string, unknown>, { z: 1, a: { d: 1, c: 2 } });

const DAG: SubmitDagInputLike = {
  name: ' hashed ',
  metadata: { z: 1, a: [{ y: 2, x: 1 }], '10': 'ten', '9': 'nine' },
  softSla: new Date('2999-01-01T00:00:00Z'),
  cache: { ttlSeconds: 60 },
  jobs: [
    {
      id: 'b',
      name: 'second',
      dependencies: ['c', 'a'],
      data: { '2': 'two', '10': 'ten', b: null, a: [3, { d: true, c: 'x' }] },
      priority: 5,
      startAfter: new Date('2999-01-01T00:00:00Z'),
      assets: [{ key: 'out/b', kind: 'doc' }],
    },
    { id: 'a', name: 'first', executor: 'ocr' },
    { id: 'c', name: 'third', dependencies: ['a'], concurrencyKey: 'k', concurrencyLimit: 2, cache: { key: 'c' } },
  ],
};

describe('the hash of a submitted DAG', () => {
  it('writes the same stable JSON as the reference, objects in order or not', () => {
    for (const value of [
      { b: 1, a: 2 },
      { a: 1, b: { d: [{ f: 1, e: 2 }, 'x'], c: undefined } },
      { '10': 1, '9': 2, b: 3, a: 4 },
      { '1': 1, '2': 2, a: 3 },
      [{ y: new Date(0), x: null }],
      new Unsorted(),
      bare,
      { n: Object(1) as unknown, s: Object('s') as unknown, at: new Date(1) },
      'text',
      null,
    ]) {
      expect(stableJson(value)).toBe(reference(value));
    }
  });

  it('is the hash DAGs were stored with (a resubmission of one must match it)', () => {
    const policy = { isProduction: false, allowList: [], hasSecret: false };
    expect(validateDag(structuredClone(DAG), policy).hash).toBe(
      '934755b1c17dffd8bbd52340b3e5315ae6c8dd522e7ed6249dc94491cb91ef04',
    );
  });
});
