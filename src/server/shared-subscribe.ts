import { randomUUID } from 'node:crypto';
import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { isPullable, PULL, type Pullable, type Puller } from '../lib/pull-stream';
import { createContext, type AppContext } from '../resolvers/context';
import type { Services } from '../services/process-services';
import { PUSH, type FrameSink, type PushHandle, type PushSource } from './ws-push';

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> =>
  typeof v === 'object' && v !== null && Symbol.asyncIterator in v;

/** One execution of an operation for one event, shared by the operation's subscribers. */
class Shared {
  value: ExecutionResult | null = null;
  failed: { err: unknown } | null = null;
  /** Pushing subscribers waiting for an execution that has not finished. */
  waiters: Member[] = [];
  pending: Promise<ExecutionResult> | null = null;

  constructor(run: () => ExecutionResult | Promise<ExecutionResult>) {
    try {
      const r = run();
      if (!(r instanceof Promise)) this.value = r;
      else {
        this.pending = r;
        r.then(
          (v) => this.settle(v, null),
          (err: unknown) => this.settle(null, { err }),
        );
      }
    } catch (err) {
      this.failed = { err };
    }
  }

  private settle(value: ExecutionResult | null, failed: { err: unknown } | null): void {
    this.value = value;
    this.failed = failed;
    this.pending = null;
    const waiters = this.waiters;
    this.waiters = [];
    // Every subscriber that waited for this result gets it in this one loop.
    for (const m of waiters) m.resumeWith(this);
  }

  /** For a subscriber that iterates (not pushed). */
  async result(): Promise<ExecutionResult> {
    if (this.failed) throw this.failed.err;
    return this.value ?? (await this.pending!);
  }
}

/**
 * A pushed subscriber (src/server/ws-push.ts): its events are taken from its own stream (its
 * filter, order, bounded buffer and replay, src/events/subscription.service.ts) as soon as the
 * stream has them, synchronously from the event hub's delivery loop, and each shared result is
 * written to its socket at once. It stops taking while its socket holds the high-water mark
 * (the buffer then overflows: 4409) or while an execution it needs has not finished (then it
 * resumes in that execution's loop over its waiters, in order).
 */
class Member implements PushHandle {
  readonly ended: Promise<void>;
  private endWith!: (err?: { err: unknown }) => void;
  private readonly puller: Puller<unknown>;
  private started = false;
  private done = false;
  private draining = false;
  private blocked = false;
  private parked = false;

  constructor(
    private readonly source: AsyncIterator<unknown>,
    pullable: Pullable<unknown>,
    private readonly share: (event: unknown) => Shared,
    private readonly sink: FrameSink,
  ) {
    this.ended = new Promise<void>((resolve, reject) => {
      this.endWith = (e) => (e ? reject(e.err instanceof Error ? e.err : new Error(String(e.err))) : resolve());
    });
    this.ended.catch(() => undefined); // graphql-ws awaits it; never an unhandled rejection here
    this.puller = pullable[PULL](() => this.drain());
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.drain();
  }

  stop(): void {
    this.finish();
  }

  private readonly resume = () => {
    this.blocked = false;
    this.drain();
  };

  private drain(): void {
    if (!this.started || this.draining) return;
    this.draining = true;
    try {
      while (!this.done && !this.blocked && !this.parked) {
        const r = this.puller.take();
        if (r === null) break;
        if (r.done) {
          this.finish();
          break;
        }
        const s = this.share(r.value);
        if (s.pending) {
          this.parked = true;
          s.waiters.push(this);
        } else this.write(s);
      }
    } catch (err) {
      this.finish({ err });
    } finally {
      this.draining = false;
    }
  }

  private write(s: Shared): void {
    if (s.failed) throw s.failed.err;
    if (!this.sink.next(s.value!, this.resume)) this.blocked = true;
  }

  resumeWith(s: Shared): void {
    this.parked = false;
    if (this.done) return;
    try {
      this.write(s);
    } catch (err) {
      this.finish({ err });
      return;
    }
    this.drain();
  }

  private finish(failed?: { err: unknown }): void {
    if (this.done) return;
    this.done = true;
    void this.source.return?.()?.catch(() => undefined);
    this.endWith(failed);
  }
}

/**
 * graphql-ws's `subscribe` hook, for fan-out. The source streams hand out event objects
 * built once per event and shared by every subscriber of the tenant in this process
 * (src/events/subscription.service.ts, src/schema/mappers/event.mapper.ts). Here each event's response is computed once per
 * distinct operation (tenant, role, document, variables) and the same result goes to
 * every subscriber of that operation: a thousand dashboards watching the same query cost
 * one execution (and one batch of DataLoader statements) per event, not a thousand. The
 * cache hangs off the event object in a WeakMap, so it goes when the event does. Each
 * execution gets a fresh context (fresh loaders), so relation fields read current rows.
 *
 * Where the source can be drained synchronously (lib/pull-stream.ts) the stream also
 * pushes (server/ws-push.ts): the WebSocket transport hands it each subscriber's frame sink,
 * and an event's shared result goes to all its subscribers' sockets in the hub's one
 * delivery loop, without a promise per subscriber and frame.
 */
export function sharedSubscribe(services: Services): (args: ExecutionArgs) => Promise<unknown> {
  const results = new WeakMap<object, Map<string, Shared>>();
  let executions = 0;
  const fn = async (args: ExecutionArgs) => {
    const stream = await createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream;
    const ctx = args.contextValue as AppContext;
    const key = [
      ctx.principal?.tenantId ?? '',
      ctx.principal?.role ?? '',
      args.operationName ?? '',
      JSON.stringify(args.variableValues ?? {}),
      print(args.document),
    ].join('\n');
    const share = (event: unknown): Shared => {
      const once = () =>
        new Shared(() => {
          executions++;
          const contextValue = createContext(services, ctx.principal, randomUUID(), ctx.log);
          return execute({ ...args, rootValue: event, contextValue });
        });
      if (typeof event !== 'object' || event === null) return once();
      let perEvent = results.get(event);
      if (!perEvent) results.set(event, (perEvent = new Map()));
      let shared = perEvent.get(key);
      if (!shared) perEvent.set(key, (shared = once()));
      return shared;
    };
    const source = stream[Symbol.asyncIterator]();
    const mapped = mapAsync(source, (event) => share(event).result());
    if (!isPullable(source)) return mapped;
    const push: PushSource = { [PUSH]: (sink) => new Member(source, source, share, sink) };
    return Object.assign(mapped, push);
  };
  // A getter (Object.assign would copy its value at 0): how many executions ran (tests prove the sharing with it).
  return Object.defineProperty(fn, 'executions', { get: () => executions });
}

function mapAsync<T, U>(it: AsyncIterator<T>, fn: (v: T) => Promise<U>): AsyncIterableIterator<U> {
  const mapped: AsyncIterableIterator<U> = {
    [Symbol.asyncIterator]: () => mapped,
    async next() {
      const r = await it.next();
      return r.done ? { done: true, value: undefined } : { done: false, value: await fn(r.value) };
    },
    async return() {
      await it.return?.();
      return { done: true, value: undefined };
    },
    async throw(err: unknown) {
      await it.return?.();
      throw err;
    },
  };
  return mapped;
}
