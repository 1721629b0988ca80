import { describe, expect, it } from 'vitest';
import { submitDag, waitForDag } from './support/dag-helpers';
import { flatJobs, inFlight, sampleEvery20ms, sleeper, unique } from './support/fair-share';
import { startTestApp, type TestApp } from './support/test-app';

// Without QUOTAS_FILE: a job's concurrencyLimit holds in the claim itself across schedulers.
// Executors of this file's own (never noop): other files' workers never take these jobs.

async function stopAll(apps: TestApp[]): Promise<void> {
  for (const a of apps.reverse()) await a.stop();
}

describe('concurrency keys without QUOTAS_FILE', () => {
  it(
    'a claim that sees the ready set change meanwhile cannot take a key past its limit',
    { timeout: 120_000 },
    async () => {
      // No worker: what is claimed stays claimed (in flight). Dispatcher A's claim is held
      // (a row it picked is locked) while a higher-priority job of the key becomes due and
      // dispatcher B claims: unserialised, A takes X and Y and B takes Z, three in flight.
      const [a, b] = [await startTestApp(), await startTestApp()];
      const hold = a.app.services.ds.createQueryRunner();
      try {
        const t = await a.tenant('submitter');
        const exec = unique('ckey-race');
        const later = new Date(Date.now() + 3_600_000).toISOString();
        const job = (id: string, priority: number) => ({
          id,
          name: id,
          executor: exec,
          priority,
          startAfter: later,
          concurrencyKey: 'k',
          concurrencyLimit: 2,
        });
        const dagId = await submitDag(a, t.key, { name: 'race', jobs: [job('x', 5), job('y', 5), job('z', 10)] });
        const due = (tasks: string[]) =>
          a.app.services.ds.query(`UPDATE jobs SET run_after = now() WHERE dag_id = $1 AND task_id = ANY($2)`, [
            dagId,
            tasks,
          ]);
        await due(['x', 'y']);
        await hold.connect();
        await hold.startTransaction();
        await hold.query(`SELECT id FROM jobs WHERE dag_id = $1 AND task_id = 'y' FOR UPDATE`, [dagId]);
        const first = a.app.services.dispatcher.dispatchReady(500);
        await new Promise((r) => setTimeout(r, 500));
        await due(['z']);
        const second = b.app.services.dispatcher.dispatchReady(500);
        await new Promise((r) => setTimeout(r, 500));
        await hold.commitTransaction();
        await Promise.all([first, second]);
        const rows = await inFlight(a, t.tenantId);
        expect(rows.find((r) => r.key === 'k')?.n).toBe(2);
      } finally {
        if (hold.isTransactionActive) await hold.rollbackTransaction();
        await hold.release();
        await stopAll([a, b]);
      }
    },
  );

  it(
    'concurrencyLimit 2 holds with two schedulers and two workers (sampled every 20 ms)',
    { timeout: 180_000 },
    async () => {
      const exec = unique('ckey-run');
      const api = await startTestApp({ roles: ['api', 'scheduler'] });
      const apps = [
        api,
        await startTestApp({ roles: ['scheduler'] }),
        await startTestApp({ roles: ['worker'], executors: [sleeper(exec, 4, 15)] }),
        await startTestApp({ roles: ['worker'], executors: [sleeper(exec, 4, 15)] }),
      ];
      const t = await api.tenant('submitter');
      const max = { active: 0, inFlight: 0, other: 0 };
      const sampler = sampleEvery20ms(async () => {
        const [r]: Array<{ n: number }> = await api.app.services.ds.query(
          `SELECT count(*)::int AS n FROM jobs WHERE tenant_id = $1 AND state = 'ACTIVE' AND concurrency_key = 'k'`,
          [t.tenantId],
        );
        max.active = Math.max(max.active, r.n);
        const rows = await inFlight(api, t.tenantId);
        max.inFlight = Math.max(max.inFlight, rows.find((x) => x.key === 'k')?.n ?? 0);
        max.other = Math.max(max.other, rows.find((x) => x.key === null)?.n ?? 0);
      });
      try {
        // 120 keyed jobs and 60 without a key (those run up to the workers' 8 slots).
        const jobs = flatJobs(180, (i) => ({
          executor: exec,
          ...(i % 3 === 2 ? {} : { concurrencyKey: 'k', concurrencyLimit: 2 }),
        }));
        const id = await submitDag(api, t.key, { name: 'ckey', jobs });
        await waitForDag(api, t.key, id, ['COMPLETED'], 150_000);
        expect(await sampler.stop()).toBeGreaterThan(20);
        expect(max.active).toBe(2);
        expect(max.inFlight).toBe(2);
        // Jobs without a key were not held to the key's limit.
        expect(max.other).toBeGreaterThan(2);
      } finally {
        await sampler.stop();
        await stopAll(apps);
      }
    },
  );

  it(
    'a completion frees its key: the next job of the key is claimed without a sweep',
    { timeout: 60_000 },
    async () => {
      // No scheduler (no sweep): only the completions' kicks can claim the held-back jobs.
      const exec = unique('ckey-kick');
      const app = await startTestApp({ roles: ['api', 'worker'], executors: [sleeper(exec, 4, 5)] });
      try {
        const t = await app.tenant('submitter');
        const jobs = flatJobs(6, () => ({ executor: exec, concurrencyKey: 'k', concurrencyLimit: 1 }));
        const id = await submitDag(app, t.key, { name: 'kick', jobs });
        await waitForDag(app, t.key, id, ['COMPLETED'], 30_000);
      } finally {
        await app.stop();
      }
    },
  );
});
