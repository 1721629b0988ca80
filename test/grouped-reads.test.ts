import { describe, expect, it } from 'vitest';
import { GroupedReads } from '../src/lib/grouped-reads';

/** A read whose calls are kept, each answered (or failed) by the test: `value = group:key`. */
function controlled() {
  const calls: Array<{ group: string; keys: string[]; answer: () => void; fail: (e: Error) => void }> = [];
  const reads = new GroupedReads<string>(
    (group, keys) =>
      new Promise((resolve, reject) =>
        calls.push({
          group,
          keys,
          answer: () => resolve(new Map(keys.filter((k) => k !== 'missing').map((k) => [k, `${group}:${k}`]))),
          fail: reject,
        }),
      ),
    2,
    4,
  );
  return { calls, reads };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GroupedReads', () => {
  it('sends the calls of one event-loop turn as one read; calls made while two reads run go out together in the next, each answered with its own keys', async () => {
    const { calls, reads } = controlled();
    const a = reads.load('t1', ['a']);
    const a2 = reads.load('t1', ['a', 'b']);
    expect(calls).toHaveLength(0);
    await tick(); // the end of this turn
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b']]);
    const b = reads.load('t1', ['b']);
    await tick();
    expect(calls).toHaveLength(2); // a second read may run beside the first
    const c = reads.load('t1', ['c', 'missing']);
    const d = reads.load('t1', ['c', 'd']);
    expect(calls).toHaveLength(2);
    calls[0].answer();
    await tick();
    expect(calls[2].keys).toEqual(['c', 'missing', 'd']);
    calls[1].answer();
    calls[2].answer();
    expect(await a).toEqual(new Map([['a', 't1:a']]));
    expect(await a2).toEqual(
      new Map([
        ['a', 't1:a'],
        ['b', 't1:b'],
      ]),
    );
    expect(await b).toEqual(new Map([['b', 't1:b']]));
    expect(await c).toEqual(new Map([['c', 't1:c']]));
    expect(await d).toEqual(
      new Map([
        ['c', 't1:c'],
        ['d', 't1:d'],
      ]),
    );
    await tick();
    expect(reads.activeGroups).toBe(0);
  });

  it('never answers a call with a read that started before it (a write committed before the call is seen)', async () => {
    const { calls, reads } = controlled();
    const first = reads.load('t1', ['k']);
    await tick();
    const second = reads.load('t1', ['k']);
    await tick();
    const third = reads.load('t1', ['k']); // both reads run: it waits for a new one
    await tick();
    calls[0].answer();
    calls[1].answer();
    await first;
    await second;
    await tick();
    expect(calls).toHaveLength(3);
    calls[2].answer();
    expect(await third).toEqual(new Map([['k', 't1:k']]));
  });

  it('keeps groups (tenants) apart', async () => {
    const { calls, reads } = controlled();
    const x = [reads.load('t1', ['a']), reads.load('t1', ['k']), reads.load('t2', ['k'])];
    await tick();
    expect(calls.map((c) => [c.group, c.keys])).toEqual([
      ['t1', ['a', 'k']],
      ['t2', ['k']],
    ]);
    for (const c of calls) c.answer();
    expect((await Promise.all(x)).map((m) => m.get('k') ?? null)).toEqual([null, 't1:k', 't2:k']);
  });

  it('fails only the calls a failed read answers', async () => {
    const { calls, reads } = controlled();
    const a = reads.load('t1', ['a']);
    await tick();
    const b = reads.load('t1', ['b']);
    await tick();
    const c = reads.load('t1', ['c']);
    await tick();
    calls[0].fail(new Error('down'));
    await expect(a).rejects.toThrow('down');
    await tick();
    calls[1].answer();
    calls[2].answer();
    expect(await b).toEqual(new Map([['b', 't1:b']]));
    expect(await c).toEqual(new Map([['c', 't1:c']]));
  });

  it('sends at most maxKeys keys a read, never splitting a call', async () => {
    const { calls, reads } = controlled();
    void reads.load('t1', ['a']);
    await tick();
    void reads.load('t1', ['b']);
    await tick();
    void reads.load('t1', ['c', 'd']);
    void reads.load('t1', ['e', 'f']);
    void reads.load('t1', ['g', 'h', 'i', 'j', 'k']);
    calls[0].answer();
    calls[1].answer();
    await tick();
    expect(calls.slice(2).map((c) => c.keys)).toEqual([
      ['c', 'd', 'e', 'f'],
      ['g', 'h', 'i', 'j', 'k'],
    ]);
  });
});
