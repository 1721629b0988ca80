import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutorInvoker } from '../../src/core/executor-call';
import type { TestApp } from './test-app';

/** A QUOTAS_FILE of the test's own; write() replaces its text. */
export function quotasFile(text = ''): { file: string; write(text: string): void } {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'quotas-')), 'quotas.yaml');
  writeFileSync(file, text);
  return { file, write: (t) => writeFileSync(file, t) };
}

/** An executor that sleeps `ms` and counts how many of its calls run at once per tenant. */
export function sleeper(name: string, concurrency: number, ms: number): ExecutorInvoker {
  return { name, concurrency, invoke: () => new Promise((r) => setTimeout(() => r(null), ms)) };
}

export const unique = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/** Jobs of one DAG, no dependencies. */
export const flatJobs = (n: number, f: (i: number) => Record<string, unknown>) =>
  Array.from({ length: n }, (_, i) => ({ id: `j${i}`, name: 'j', ...f(i) }));

/** In-flight counts (ACTIVE or claimed-but-unstarted) of a tenant's jobs by executor and key. */
export async function inFlight(
  t: TestApp,
  tenantId: string,
): Promise<Array<{ executor: string; key: string | null; n: number }>> {
  return t.app.services.ds.query(
    `SELECT executor, concurrency_key AS key, count(*)::int AS n FROM jobs WHERE tenant_id = $1
       AND (state = 'ACTIVE' OR (state IN ('CREATED','RETRY') AND dispatched_at IS NOT NULL)) GROUP BY 1, 2`,
    [tenantId],
  );
}

/** Sample `fn` every 20 ms until stop() (which returns how many samples were taken). */
export function sampleEvery20ms(fn: () => Promise<void>): { stop(): Promise<number> } {
  let running = true;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      await fn();
      samples++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}
