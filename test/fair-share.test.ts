import { describe, expect, it } from 'vitest';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { flatJobs, inFlight, quotasFile, sampleEvery20ms, sleeper, unique } from './support/fair-share';
import { codeOf, startTestApp, type TestApp } from './support/test-app';

// Executors of this file's own (never noop): other files' workers never take these jobs.

async function stopAll(apps: TestApp[]): Promise<void> {
  for (const a of apps.reverse()) await a.stop();
}

/** Start times of a tenant's jobs (ms since epoch), oldest first. */
async function starts(t: TestApp, tenantId: string, dagId?: string): Promise<number[]> {
  const rows: Array<{ ms: string }> = await t.app.services.ds.query(
    `SELECT (extract(epoch FROM a.started_at) * 1000)::bigint AS ms FROM job_attempts a JOIN jobs j ON j.id = a.job_id
      WHERE j.tenant_id = $1 AND ($2::text IS NULL OR j.dag_id = $2) ORDER BY a.started_at`,
    [tenantId, dagId ?? null],
  );
  return rows.map((r) => Number(r.ms));
}

describe('fair share', () => {
  it('equal weights: a small tenant is not stuck behind a big backlog', { timeout: 180_000 }, async () => {
    const exec = unique('fair-eq');
    // Fair share on (a QUOTAS_FILE), every tenant on the default entry: equal weights, no caps.
    const env = { QUOTAS_FILE: quotasFile('default: { weight: 1 }\n').file };
    const api = await startTestApp({ roles: ['api', 'scheduler'], env });
    const worker = await startTestApp({ roles: ['worker'], env, executors: [sleeper(exec, 8, 20)] });
    try {
      const a = await api.tenant('submitter');
      const b = await api.tenant('submitter');
      const N = 1000;
      await submitDag(api, a.key, { name: 'big', jobs: flatJobs(N, () => ({ executor: exec })) });
      const smallId = await submitDag(api, b.key, { name: 'small', jobs: flatJobs(20, () => ({ executor: exec })) });
      await waitForDag(api, b.key, smallId, ['COMPLETED'], 120_000);
      const lastB = Math.max(...(await starts(api, b.tenantId)));
      const [{ n }]: Array<{ n: number }> = await api.app.services.ds.query(
        `SELECT count(*)::int AS n FROM jobs WHERE tenant_id = $1 AND completed_at <= to_timestamp($2::double precision / 1000)`,
        [a.tenantId, lastB],
      );
      // Every one of B's jobs started before a tenth of A's backlog was done.
      expect(n).toBeLessThan(N / 10);
      // A's backlog was not held back for it: it kept running.
      expect(n).toBeGreaterThan(0);
    } finally {
      await stopAll([api, worker]);
    }
  });

  it('weights 3:1: started counts over a window stay within 10% of 3:1', { timeout: 180_000 }, async () => {
    const exec = unique('fair-w');
    const q = quotasFile();
    const env = { QUOTAS_FILE: q.file };
    const api = await startTestApp({ roles: ['api', 'scheduler'], env });
    const a = await api.tenant('submitter');
    const b = await api.tenant('submitter');
    q.write(`tenants:\n  ${a.slug}: { weight: 3 }\n  ${b.slug}: { weight: 1 }\n`);
    await api.app.services.quotas.reload();
    const worker = await startTestApp({ roles: ['worker'], env, executors: [sleeper(exec, 8, 20)] });
    try {
      const N = 400;
      const idA = await submitDag(api, a.key, { name: 'a', jobs: flatJobs(N, () => ({ executor: exec })) });
      const idB = await submitDag(api, b.key, { name: 'b', jobs: flatJobs(N, () => ({ executor: exec })) });
      await waitForDag(api, b.key, idB, ['COMPLETED'], 150_000);
      await waitForDag(api, a.key, idA, ['COMPLETED'], 150_000);
      const all = [
        ...(await starts(api, a.tenantId)).map((t) => ({ t, who: 'a' })),
        ...(await starts(api, b.tenantId)).map((t) => ({ t, who: 'b' })),
      ].sort((x, y) => x.t - y.t);
      // A window while both have a backlog: starts 50 to 450 (A ~3/4 of them, so neither runs dry).
      const win = all.slice(50, 450);
      const ratio = win.filter((s) => s.who === 'a').length / win.filter((s) => s.who === 'b').length;
      expect(ratio).toBeGreaterThan(2.7);
      expect(ratio).toBeLessThan(3.3);
    } finally {
      await stopAll([api, worker]);
    }
  });

  it(
    'caps (5 per tenant, 3 per executor, 2 per key) hold with two schedulers and two workers',
    { timeout: 180_000 },
    async () => {
      const [exA, exB] = [unique('fair-capa'), unique('fair-capb')];
      const q = quotasFile();
      const env = { QUOTAS_FILE: q.file };
      const api = await startTestApp({ roles: ['api', 'scheduler'], env });
      const t = await api.tenant('submitter');
      q.write(`tenants:\n  ${t.slug}: { maxActiveJobs: 5, maxActiveJobsPerExecutor: { ${exA}: 3 } }\n`);
      await api.app.services.quotas.reload();
      const apps = [
        api,
        await startTestApp({ roles: ['scheduler'], env }),
        await startTestApp({ roles: ['worker'], env, executors: [sleeper(exA, 4, 10), sleeper(exB, 4, 10)] }),
        await startTestApp({ roles: ['worker'], env, executors: [sleeper(exA, 4, 10), sleeper(exB, 4, 10)] }),
      ];
      const max = { tenant: 0, exA: 0, key: 0 };
      const sampler = sampleEvery20ms(async () => {
        const rows = await inFlight(api, t.tenantId);
        max.tenant = Math.max(
          max.tenant,
          rows.reduce((s, r) => s + r.n, 0),
        );
        max.exA = Math.max(
          max.exA,
          rows.filter((r) => r.executor === exA).reduce((s, r) => s + r.n, 0),
        );
        max.key = Math.max(
          max.key,
          rows.filter((r) => r.key === 'k').reduce((s, r) => s + r.n, 0),
        );
      });
      try {
        const jobs = flatJobs(300, (i) => ({
          executor: i % 2 ? exA : exB,
          ...(i % 3 === 0 ? { concurrencyKey: 'k', concurrencyLimit: 2 } : {}),
        }));
        const id = await submitDag(api, t.key, { name: 'caps', jobs });
        await waitForDag(api, t.key, id, ['COMPLETED'], 150_000);
        expect(await sampler.stop()).toBeGreaterThan(20);
        // Never over a cap, and each cap was reached (the run pressed against every one).
        expect(max).toEqual({ tenant: 5, exA: 3, key: 2 });
      } finally {
        await sampler.stop();
        await stopAll(apps);
      }
    },
  );

  it(
    'rate limit 10 per 2 s: no 2-second window holds more than 10 starts (a 40-job run)',
    { timeout: 120_000 },
    async () => {
      const exec = unique('fair-rate');
      const q = quotasFile();
      const env = { QUOTAS_FILE: q.file };
      const api = await startTestApp({ roles: ['api', 'scheduler'], env });
      const t = await api.tenant('submitter');
      q.write(`tenants:\n  ${t.slug}: { rateLimits: { ${exec}: { jobs: 10, perSeconds: 2 } } }\n`);
      await api.app.services.quotas.reload();
      const worker = await startTestApp({ roles: ['worker'], env, executors: [sleeper(exec, 16, 5)] });
      try {
        const id = await submitDag(api, t.key, { name: 'rate', jobs: flatJobs(40, () => ({ executor: exec })) });
        await waitForDag(api, t.key, id, ['COMPLETED'], 60_000);
        const s = await starts(api, t.tenantId);
        expect(s).toHaveLength(40);
        for (const t0 of s) expect(s.filter((x) => x >= t0 && x < t0 + 2000).length).toBeLessThanOrEqual(10);
        expect(s[39] - s[0]).toBeGreaterThanOrEqual(5_900);
      } finally {
        await stopAll([api, worker]);
      }
    },
  );

  it('a policy file change takes effect without a restart', { timeout: 120_000 }, async () => {
    const exec = unique('fair-hup');
    const q = quotasFile();
    const env = { QUOTAS_FILE: q.file };
    const api = await startTestApp({ roles: ['api', 'scheduler'], env });
    const t = await api.tenant('submitter');
    q.write(`tenants:\n  ${t.slug}: { maxActiveJobs: 1 }\n`);
    await api.app.services.quotas.reload();
    const worker = await startTestApp({ roles: ['worker'], env, executors: [sleeper(exec, 8, 150)] });
    let max = 0;
    const sampler = sampleEvery20ms(async () => {
      max = Math.max(
        max,
        (await inFlight(api, t.tenantId)).reduce((s, r) => s + r.n, 0),
      );
    });
    try {
      const id = await submitDag(api, t.key, { name: 'hup', jobs: flatJobs(60, () => ({ executor: exec })) });
      await waitFor(async () => (await starts(api, t.tenantId)).length >= 5, 30_000, 'five starts');
      expect(max).toBe(1);
      q.write(`tenants:\n  ${t.slug}: { maxActiveJobs: 4 }\n`);
      process.emit('SIGHUP', 'SIGHUP');
      await waitFor(async () => max === 4, 30_000, 'four in flight after SIGHUP');
      await waitForDag(api, t.key, id, ['COMPLETED'], 60_000);
      expect(max).toBe(4);
    } finally {
      await sampler.stop();
      await stopAll([api, worker]);
    }
  });

  it('concurrencyKey and concurrencyLimit: validated, and shown on the job', async () => {
    const api = await startTestApp({ roles: ['api'] });
    try {
      const { key } = await api.tenant('submitter');
      const exec = unique('fair-val');
      const submit = (job: Record<string, unknown>) =>
        api.gql(
          `mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id } }`,
          {
            input: { name: 'v', jobs: [{ id: 'a', name: 'a', executor: exec, ...job }] },
          },
          key,
        );
      for (const [job, field] of [
        [{ concurrencyLimit: 2 }, 'input.jobs[0].concurrencyKey'],
        [{ concurrencyKey: 'k' }, 'input.jobs[0].concurrencyLimit'],
        [{ concurrencyKey: 'k', concurrencyLimit: 0 }, 'input.jobs[0].concurrencyLimit'],
        [{ concurrencyKey: '', concurrencyLimit: 1 }, 'input.jobs[0].concurrencyKey'],
      ] as const) {
        const res = await submit(job);
        expect(codeOf(res), JSON.stringify(res.errors)).toBe('BAD_USER_INPUT');
        expect(res.errors?.[0]?.extensions?.field).toBe(field);
      }
      const id = await submitDag(api, key, {
        name: 'ok',
        jobs: [{ id: 'a', name: 'a', executor: exec, concurrencyKey: 'customer-7', concurrencyLimit: 3 }],
      });
      const res = await api.gql<{ dag: { jobs: Array<{ concurrencyKey: string; concurrencyLimit: number }> } }>(
        `query ($id: ID!) { dag(id: $id) { jobs { concurrencyKey concurrencyLimit } } }`,
        { id },
        key,
      );
      expect(res.data?.dag.jobs).toEqual([{ concurrencyKey: 'customer-7', concurrencyLimit: 3 }]);
    } finally {
      await api.stop();
    }
  });
});
