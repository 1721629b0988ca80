import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitDag, waitFor } from './support/dag-helpers';
import { flatJobs, inFlight, quotasFile, unique } from './support/fair-share';
import { startTestApp, type TestApp } from './support/test-app';

// The per-tenant gauges: only for a scrape that presents METRICS_TOKEN. No worker hosts
// this file's executor, so what is claimed stays in flight and the rest stays held back.

const TOKEN = 'operator-scrape-secret-0123456789';
const q = quotasFile();
let app: TestApp;
let base: string;
const scrape = (authorization?: string) =>
  fetch(`${base}/metrics`, { headers: authorization ? { authorization } : {} });

beforeAll(async () => {
  app = await startTestApp({ roles: ['api'], env: { QUOTAS_FILE: q.file, METRICS_TOKEN: TOKEN } });
  base = app.url.replace('/graphql', '');
}, 60_000);

afterAll(async () => {
  await app?.stop();
});

describe('tenant gauges on /metrics', () => {
  it('a token scrape shows each tenant active and held-back jobs; the public scrape shows none', async () => {
    const exec = unique('tm-exec');
    const [a, b] = [await app.tenant('submitter'), await app.tenant('submitter')];
    q.write(
      `tenants:\n  ${a.slug}: { maxActiveJobs: 2, rateLimits: { ${exec}: { jobs: 100, perSeconds: 60 } } }\n` +
        `  ${b.slug}: { rateLimits: { ${exec}: { jobs: 100, perSeconds: 60 } } }\n`,
    );
    await app.app.services.quotas.reload();
    await submitDag(app, a.key, { name: 'a', jobs: flatJobs(5, () => ({ executor: exec })) });
    await submitDag(app, b.key, {
      name: 'b',
      jobs: flatJobs(4, () => ({ executor: exec, concurrencyKey: 'doc', concurrencyLimit: 1 })),
    });
    const total = async (t: { tenantId: string }) => (await inFlight(app, t.tenantId)).reduce((s, r) => s + r.n, 0);
    await waitFor(async () => ((await total(a)) === 2 && (await total(b)) === 1 ? true : null), 10_000);

    const publicBefore = app.app.services.sql.total;
    const pub = await scrape();
    const publicUsed = app.app.services.sql.total - publicBefore; // the fleet's cache totals
    expect(pub.status).toBe(200);
    const pubText = await pub.text();
    expect(pubText).toMatch(/marie_graphql_requests_total/);
    expect(pubText).not.toMatch(/tenant/i);

    const before = app.app.services.sql.total;
    const res = await scrape(`Bearer ${TOKEN}`);
    const used = app.app.services.sql.total - before;
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/marie_graphql_requests_total/);
    const value = (name: string, labels: string) =>
      Number(new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(value('marie_tenant_active_jobs', `tenant="${a.slug}"`)).toBe(2);
    expect(value('marie_tenant_active_jobs', `tenant="${b.slug}"`)).toBe(1);
    expect(value('marie_tenant_throttled_jobs', `tenant="${a.slug}",limit="max_active"`)).toBe(3);
    expect(value('marie_tenant_throttled_jobs', `tenant="${a.slug}",limit="concurrency_key"`)).toBe(0);
    expect(value('marie_tenant_throttled_jobs', `tenant="${b.slug}",limit="concurrency_key"`)).toBe(3);
    expect(value('marie_tenant_throttled_jobs', `tenant="${b.slug}",limit="max_active"`)).toBe(0);
    // Grouped statements, not one per tenant (both tenants have a rate limit to count): at
    // most two beyond what the public scrape reads.
    expect(used - publicUsed).toBeLessThanOrEqual(2);
  });

  it('a scrape with a wrong token is refused (401) and shows nothing', async () => {
    const res = await scrape('Bearer not-the-operator-token');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await res.text()).not.toMatch(/marie_/);
    expect((await scrape(`Basic ${TOKEN}`)).status).toBe(401);
  });

  it('without METRICS_TOKEN a bearer header gets the public view', async () => {
    const other = await startTestApp({ roles: ['api'] });
    try {
      const t = await other.tenant('submitter');
      await submitDag(other, t.key, { name: 'x', jobs: flatJobs(1, () => ({ executor: unique('tm-none') })) });
      const res = await fetch(`${other.url.replace('/graphql', '')}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(200);
      expect(await res.text()).not.toMatch(/tenant/i);
    } finally {
      await other.stop();
    }
  });
});
