import { randomUUID } from 'node:crypto';
import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { createContext, type AppContext } from '../resolvers/context';
import type { Services } from '../services/process-services';

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> =>
  typeof v === 'object' && v !== null && Symbol.asyncIterator in v;

/**
 * graphql-ws's `subscribe` hook, for fan-out. The source streams hand out event objects
 * built once per event and shared by every subscriber of the tenant in this process
 * (src/events/subscription.service.ts, src/schema/mappers/event.mapper.ts). Here each event's response is computed once per
 * distinct operation (tenant, role, document, variables) and the same result goes to
 * every subscriber of that operation: a thousand dashboards watching the same query cost
 * one execution (and one batch of DataLoader statements) per event, not a thousand. The
 * cache hangs off the event object in a WeakMap, so it goes when the event does. Each
 * execution gets a fresh context (fresh loaders), so relation fields read current rows.
 */
export function sharedSubscribe(services: Services): (args: ExecutionArgs) => Promise<unknown> {
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
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
    const run = (event: unknown): Promise<ExecutionResult> => {
      const once = () => {
        executions++;
        const contextValue = createContext(services, ctx.principal, randomUUID(), ctx.log);
        return Promise.resolve(execute({ ...args, rootValue: event, contextValue }));
      };
      if (typeof event !== 'object' || event === null) return once();
      let perEvent = results.get(event);
      if (!perEvent) results.set(event, (perEvent = new Map()));
      let result = perEvent.get(key);
      if (!result) perEvent.set(key, (result = once()));
      return result;
    };
    return mapAsync(stream[Symbol.asyncIterator](), run);
  };
  return Object.assign(fn, {
    /** How many executions ran (tests prove the sharing with it). */
    get executions() {
      return executions;
    },
  });
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
