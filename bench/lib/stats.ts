import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The q-quantile (0..1) of the values, nearest-rank; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export const median = (v: readonly number[]): number => quantile(v, 0.5);
export const p99 = (v: readonly number[]): number => quantile(v, 0.99);

/** Milliseconds since an arbitrary origin, sub-millisecond. */
export const nowMs = (): number => performance.now();

/** Time one call in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = nowMs();
  const value = await fn();
  return { ms: nowMs() - t0, value };
}

/** Run `fn` `n` times one after another; the latencies in ms. */
export async function sequential(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const t0 = nowMs();
    await fn(i);
    out.push(nowMs() - t0);
  }
  return out;
}

/**
 * `a` and `b` run `n` times each, alternating in blocks of 50 so that both see the same
 * moments of a shared machine; each's latencies in ms.
 */
export async function interleaved(
  n: number,
  a: (i: number) => Promise<unknown>,
  b: (i: number) => Promise<unknown>,
): Promise<[number[], number[]]> {
  const la: number[] = [];
  const lb: number[] = [];
  for (let s = 0; s < n; s += 50) {
    const k = Math.min(50, n - s);
    la.push(...(await sequential(k, (i) => a(s + i))));
    lb.push(...(await sequential(k, (i) => b(s + i))));
  }
  return [la, lb];
}

/**
 * A closed-loop load generator: `clients` concurrent loops call `fn` until `durationMs`
 * has passed. Returns requests/s, latencies and failures.
 */
export async function closedLoop(
  clients: number,
  durationMs: number,
  fn: () => Promise<void>,
): Promise<{ rps: number; latencies: number[]; failures: number; requests: number }> {
  const latencies: number[] = [];
  let failures = 0;
  const t0 = nowMs();
  const end = t0 + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (nowMs() < end) {
        const s = nowMs();
        try {
          await fn();
          latencies.push(nowMs() - s);
        } catch {
          failures += 1;
        }
      }
    }),
  );
  const elapsed = nowMs() - t0;
  return { rps: (latencies.length * 1000) / elapsed, latencies, failures, requests: latencies.length + failures };
}

/** Event-loop delay over a section: p99 and max in ms. */
export function loopLag(): { stop(): { p99: number; max: number } } {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  return {
    stop() {
      h.disable();
      return { p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
    },
  };
}

export const fmt = (n: number, digits = 1): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 }) : 'n/a';

/** Wait until `count()` reaches `target`, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitForCount(count: () => number, target: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (count() < target) {
    if (Date.now() > end) throw new Error(`reached ${count()} of ${target} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
