import { expect, it } from 'vitest';
import { submitDag, waitFor } from './support/dag-helpers';
import { quotasFile, unique } from './support/fair-share';
import { ok, startTestApp } from './support/test-app';

const QUOTA = `{ quota { weight maxActiveJobs maxActiveJobsPerExecutor rateLimits { executor jobs perSeconds } activeJobs
  throttled { cause executor concurrencyKey jobs } } }`;

// No worker hosts these executors: claimed jobs stay in flight, the rest is held back.
it('quota and QueueStats.throttled show the policy, the in-flight jobs and what each limit holds back', async () => {
  const [exQ, exK] = [unique('quota-q'), unique('quota-k')];
  const q = quotasFile();
  const api = await startTestApp({ roles: ['api', 'scheduler'], env: { QUOTAS_FILE: q.file } });
  try {
    const t = await api.tenant('submitter');
    q.write(
      `tenants:\n  ${t.slug}: { weight: 2, maxActiveJobs: 2, maxActiveJobsPerExecutor: { ${exQ}: 1 }, ` +
        `rateLimits: { ${exK}: { jobs: 5, perSeconds: 60 } } }\n`,
    );
    await api.app.services.quotas.reload();
    await submitDag(api, t.key, {
      name: 'quota',
      jobs: [
        ...[0, 1, 2].map((i) => ({ id: `q${i}`, name: 'q', executor: exQ })),
        ...[0, 1].map((i) => ({ id: `k${i}`, name: 'k', executor: exK, concurrencyKey: 'c', concurrencyLimit: 1 })),
      ],
    });
    type Quota = { quota: { activeJobs: number; throttled: unknown[] } & Record<string, unknown> };
    const quota = await waitFor(
      async () => {
        const r = ok(await api.gql<Quota>(QUOTA, {}, t.key)).quota;
        return r.activeJobs === 2 && r.throttled.length === 2 ? r : null;
      },
      30_000,
      'two in flight, two causes held back',
    );
    expect(quota).toEqual({
      weight: 2,
      maxActiveJobs: 2,
      maxActiveJobsPerExecutor: { [exQ]: 1 },
      rateLimits: [{ executor: exK, jobs: 5, perSeconds: 60 }],
      activeJobs: 2,
      throttled: expect.arrayContaining([
        { cause: 'EXECUTOR_CAP', executor: exQ, concurrencyKey: null, jobs: 2 },
        { cause: 'CONCURRENCY_KEY', executor: null, concurrencyKey: 'c', jobs: 1 },
      ]),
    });
    const queues = ok(
      await api.gql<{ queues: Array<{ executor: string; throttled: number }> }>(
        `{ queues { executor throttled } }`,
        {},
        t.key,
      ),
    ).queues;
    expect(
      queues
        .filter((x) => x.executor === exQ || x.executor === exK)
        .sort((a, b) => a.executor.localeCompare(b.executor)),
    ).toEqual(
      [
        { executor: exQ, throttled: 2 },
        { executor: exK, throttled: 1 },
      ].sort((a, b) => a.executor.localeCompare(b.executor)),
    );
    // Another tenant has the default entry and nothing held back.
    const other = await api.tenant('submitter');
    expect(ok(await api.gql<Quota>(QUOTA, {}, other.key)).quota).toMatchObject({
      weight: 1,
      maxActiveJobs: null,
      activeJobs: 0,
      throttled: [],
    });
  } finally {
    await api.stop();
  }
});
