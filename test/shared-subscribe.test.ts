import { createHook } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, parse, type ExecutionResult } from 'graphql';
import { PULL, type Pullable, type Puller } from '../src/lib/pull-stream';
import { sharedSubscribe } from '../src/server/shared-subscribe';
import { PUSH, type FrameSink, type PushHandle, type PushSource } from '../src/server/ws-push';
import type { Services } from '../src/services/process-services';

/**
 * The fan-out's shared step (src/server/shared-subscribe.ts) on a schema of its own: one
 * execution per event for all subscribers of an operation, each result handed to every
 * subscriber's frame sink in one synchronous loop, in order, with backpressure and stop.
 */
type Event = { n: number };

/** A source as the event hub's streams are: pullable, fed synchronously by `push`. */
class Source implements AsyncIterableIterator<Event>, Pullable<Event> {
  private readonly buf: Event[] = [];
  private onReady: (() => void) | null = null;
  ended = false;
  returned = 0;
  failWith: Error | null = null;
  push(e: Event): void {
    this.buf.push(e);
    this.onReady?.();
  }
  end(): void {
    this.ended = true;
    this.onReady?.();
  }
  [PULL](onReady: () => void): Puller<Event> {
    this.onReady = onReady;
    return {
      take: () => {
        if (this.failWith) throw this.failWith;
        const e = this.buf.shift();
        if (e) return { done: false, value: e };
        return this.ended ? { done: true, value: undefined } : null;
      },
    };
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<Event> {
    return this;
  }
  next(): Promise<IteratorResult<Event>> {
    return Promise.reject(new Error('a pushed stream is not iterated'));
  }
  return(): Promise<IteratorResult<Event>> {
    this.returned++;
    this.ended = true;
    return Promise.resolve({ done: true, value: undefined });
  }
}

let sources: Source[] = [];
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      tick: {
        type: new GraphQLNonNull(GraphQLInt),
        subscribe: () => {
          const s = new Source();
          sources.push(s);
          return s;
        },
        resolve: (e: Event) => e.n,
      },
      // The same through a resolver that returns a promise (as type-graphql's do).
      later: {
        type: new GraphQLNonNull(GraphQLInt),
        subscribe: () => {
          const s = new Source();
          sources.push(s);
          return s;
        },
        resolve: async (e: Event) => e.n,
      },
    },
  }),
});

interface Sub {
  handle: PushHandle;
  got: ExecutionResult[];
  /** Set: the sink answers false (socket full) and keeps the resume here. */
  full: boolean;
  resume: (() => void) | null;
}

async function subscribers(field: 'tick' | 'later', n: number) {
  sources = [];
  const subscribe = sharedSubscribe({} as Services) as ReturnType<typeof sharedSubscribe> & { executions: number };
  const subs: Sub[] = [];
  for (let i = 0; i < n; i++) {
    const stream = (await subscribe({
      schema,
      document: parse(`subscription { ${field} }`),
      contextValue: { principal: null, log: {} },
    })) as PushSource;
    const sub: Sub = { handle: null as unknown as PushHandle, got: [], full: false, resume: null };
    const sink: FrameSink = {
      next: (result, resume) => {
        sub.got.push(result);
        if (sub.full) sub.resume = resume;
        return !sub.full;
      },
    };
    sub.handle = stream[PUSH](sink);
    sub.handle.start();
    subs.push(sub);
  }
  /** The hub's delivery: every subscriber's stream gets the events, synchronously. */
  const emit = (events: Event[]) => {
    for (const s of sources) for (const e of events) s.push(e);
  };
  return { subs, emit, subscribe };
}

/** Promises created while `fn` runs (and, with `settle`, until its microtasks are done). */
async function promisesDuring(fn: () => void, settle = false): Promise<number> {
  let n = 0;
  const hook = createHook({
    init: (_id, type) => {
      if (type === 'PROMISE') n++;
    },
  });
  hook.enable();
  fn();
  if (settle) await new Promise((r) => setImmediate(r));
  hook.disable();
  return n;
}

const events = (k: number) => Array.from({ length: k }, (_, i) => ({ n: i }));

describe('sharedSubscribe: pushed subscribers', () => {
  it('writes each event to every subscriber in the delivery loop itself: one execution, no promise', async () => {
    const { subs, emit, subscribe } = await subscribers('tick', 50);
    const promises = await promisesDuring(() => emit(events(10)));
    // Before: graphql-ws's `for await`, `emit.next` and `send` per subscriber and frame.
    expect(promises).toBe(0);
    for (const s of subs) expect(s.got.map((r) => r.data?.tick)).toEqual(events(10).map((e) => e.n));
    // The same result object for all 50: executed once per event.
    expect(subscribe.executions).toBe(10);
    expect(subs.every((s) => s.got.every((r, i) => r === subs[0].got[i]))).toBe(true);
  });

  it('waits for an execution that returns a promise in one loop for all its subscribers, in order', async () => {
    const counts: number[] = [];
    for (const n of [5, 100]) {
      const { subs, emit } = await subscribers('later', n);
      counts.push(await promisesDuring(() => emit(events(10)), true));
      for (const s of subs) expect(s.got.map((r) => r.data?.later)).toEqual(events(10).map((e) => e.n));
    }
    // The promises are the executions' (and the test runner's, a few dozen), not one per
    // subscriber and frame: 95 more subscribers × 10 events are 950 more frames.
    expect(counts[1] - counts[0]).toBeLessThan(95);
  });

  it('stops taking from a subscriber whose socket is full until it is written, the rest going on', async () => {
    const { subs, emit } = await subscribers('tick', 2);
    subs[0].full = true;
    emit(events(5));
    expect(subs[0].got).toHaveLength(1);
    expect(subs[1].got).toHaveLength(5);
    subs[0].full = false;
    subs[0].resume!();
    expect(subs[0].got.map((r) => r.data?.tick)).toEqual([0, 1, 2, 3, 4]);
  });

  it('writes nothing after stop, ends the source, and settles `ended`', async () => {
    const { subs, emit } = await subscribers('tick', 2);
    emit(events(1));
    subs[0].handle.stop();
    emit(events(3));
    expect(subs[0].got).toHaveLength(1);
    expect(subs[1].got).toHaveLength(4);
    expect(sources[0].returned).toBe(1);
    await expect(subs[0].handle.ended).resolves.toBeUndefined();
  });

  it('settles `ended` when the source ends, and rejects it with what the source throws', async () => {
    const { subs } = await subscribers('tick', 2);
    sources[0].end();
    await expect(subs[0].handle.ended).resolves.toBeUndefined();
    sources[1].failWith = new Error('page read failed');
    sources[1].push({ n: 1 });
    await expect(subs[1].handle.ended).rejects.toThrow('page read failed');
    expect(subs[1].got).toHaveLength(0);
  });

  it('writes nothing before graphql-ws has registered the operation (start)', async () => {
    sources = [];
    const subscribe = sharedSubscribe({} as Services);
    const stream = (await subscribe({
      schema,
      document: parse('subscription { tick }'),
      contextValue: { principal: null, log: {} },
    })) as PushSource;
    const got: ExecutionResult[] = [];
    const handle = stream[PUSH]({ next: (r) => got.push(r) > 0 });
    sources[0].push({ n: 7 });
    expect(got).toHaveLength(0);
    handle.start();
    expect(got.map((r) => r.data?.tick)).toEqual([7]);
  });
});
