import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ExecutorCallContext, ExecutorInvoker, MaterializationSpec } from '../../core/executor-call';

/** What the built-in `noop` executor reads from a job's `data`. */
export interface NoopData {
  sleepMs?: number;
  materialize?: MaterializationSpec[];
  failTimes?: number;
  hang?: boolean;
  output?: unknown;
  state?: Record<string, unknown>;
  stateByTry?: Record<string, Record<string, unknown>>;
  pullState?: { key: string; fromTasks: string[] };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(new Error('aborted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The version in this package's package.json: the noop executor's code version. */
export function noopCodeVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}

/**
 * The built-in executor every worker hosts, for tests, demos and benchmarks. In order:
 * sleep `sleepMs`; set `state` (every try) and `stateByTry[try]`; pull `pullState` (what it
 * finds becomes the output); record `materialize`; fail while the try number ≤ `failTimes`,
 * or wait for cancellation when `hang`; else succeed with `output` (or null).
 */
export function createNoopExecutor(concurrency = 8): ExecutorInvoker {
  return {
    name: 'noop',
    concurrency,
    codeVersion: noopCodeVersion(),
    async invoke(raw: unknown, ctx: ExecutorCallContext): Promise<unknown> {
      const data = (raw && typeof raw === 'object' ? raw : {}) as NoopData;
      if (data.sleepMs && data.sleepMs > 0) await sleep(data.sleepMs, ctx.signal);
      let output: unknown = data.output ?? null;
      const entries = { ...(data.state ?? {}), ...(data.stateByTry?.[String(ctx.tryNumber)] ?? {}) };
      if (Object.keys(entries).length || data.pullState) {
        if (!ctx.runContext) throw new Error('noop: no RunContext on this worker');
        for (const [k, v] of Object.entries(entries)) await ctx.runContext.set(k, v);
        if (data.pullState)
          output = (await ctx.runContext.pull(data.pullState.key, { fromTasks: data.pullState.fromTasks })) ?? null;
      }
      if (data.materialize?.length) {
        // Never fails the job (DESIGN.md): the tracker logs and returns its error.
        await ctx.assets.record(data.materialize);
      }
      if (data.failTimes && ctx.tryNumber <= data.failTimes)
        throw new Error(`noop: failing try ${ctx.tryNumber} of ${data.failTimes}`);
      if (data.hang) {
        await new Promise<void>((_resolve, reject) => {
          if (ctx.signal.aborted) reject(new Error('aborted'));
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        });
      }
      return output;
    },
  };
}
