import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorCallContext, ExecutorInvoker } from '../src/core/executor-call';
import { createNoopExecutor } from '../src/sdk/builtin/noop.executor';
import { createMetrics } from '../src/server/metrics';
import { seedPipeline, submitDag, waitFor } from './support/dag-helpers';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

/** noop, counting its calls per (DAG, task). */
const calls: Array<{ dagId: string; taskId: string }> = [];
const noop = createNoopExecutor(16);
const counting: ExecutorInvoker = {
  name: 'noop',
  concurrency: noop.concurrency,
  codeVersion: noop.codeVersion,
  invoke(data: unknown, ctx: ExecutorCallContext) {
    calls.push({ dagId: ctx.dagId, taskId: ctx.taskId });
    return noop.invoke(data, ctx);
  },
};
const callsOf = (dagId: string) => calls.filter((c) => c.dagId === dagId).length;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [counting] });
}, 60_000);
afterAll(async () => t?.stop());

const DAG = `query ($id: ID!) { dag(id: $id) { id state savedSeconds progress { total completed cached }
  jobGroups { level executor progress { total completed cached } }
  assetStatus { nodeTaskId isComplete }
  jobs { taskId state output cacheKey taskState { key value } materializations { assetKey version }
    attempts { tryNumber outcome cachedFrom { dagId taskId tryNumber } } } } }`;

interface DagView {
  id: string;
  state: string;
  savedSeconds: number;
  progress: { total: number; completed: number; cached: number };
  jobGroups: Array<{ level: number; progress: { cached: number } }>;
  assetStatus: Array<{ nodeTaskId: string; isComplete: boolean }>;
  jobs: Array<{
    taskId: string;
    state: string;
    output: unknown;
    cacheKey: string | null;
    taskState: Array<{ key: string; value: unknown }>;
    materializations: Array<{ assetKey: string; version: string }>;
    attempts: Array<{
      tryNumber: number;
      outcome: string;
      cachedFrom: { dagId: string; taskId: string; tryNumber: number } | null;
    }>;
  }>;
}

async function finished(key: string, id: string): Promise<DagView> {
  return waitFor(
    async () => {
      const d = ok(await t.gql<{ dag: DagView }>(DAG, { id }, key)).dag;
      return d.state === 'COMPLETED' || d.state === 'FAILED' ? d : null;
    },
    60_000,
    `DAG ${id} to finish`,
  );
}

/** The noop pipeline with materializations, task state and outputs, caching on for the DAG. */
function pipeline(id: string, cache: Record<string, unknown> = { enabled: true }, doc = 'doc-1') {
  const data = (node: string) => ({
    sleepMs: 30,
    output: { node, doc },
    state: { seen: `${node}:${doc}` },
    materialize: [{ assetKey: `memo/${node}`, version: `v:${node}:${doc}` }],
  });
  const d = seedPipeline(id, {
    ocr: { data: data('ocr'), assets: [{ key: 'memo/ocr' }] },
    classify: { data: data('classify'), assets: [{ key: 'memo/classify' }] },
    extract: { data: data('extract'), assets: [{ key: 'memo/extract' }] },
    store: { data: data('store'), assets: [{ key: 'memo/store' }] },
  });
  return { ...d, cache };
}

const byTask = (d: DagView) => Object.fromEntries(d.jobs.map((j) => [j.taskId, j]));

describe('memoised execution on noop', () => {
  it('a second identical DAG makes no executor call: every job CACHED from the first, same outputs, state and materializations', async () => {
    const { key } = await t.tenant('submitter');
    const a = `a-${randomUUID()}`;
    const b = `b-${randomUUID()}`;
    await submitDag(t, key, pipeline(a));
    const first = await finished(key, a);
    expect(first.state).toBe('COMPLETED');
    expect(callsOf(a)).toBe(4);
    expect(first.progress.cached).toBe(0);
    const hitsBefore = t.app.services.cache.stats.hits;
    const fleetBefore = await t.app.services.cache.totals();

    await submitDag(t, key, pipeline(b));
    const second = await finished(key, b);
    expect(second.state).toBe('COMPLETED');
    expect(callsOf(b)).toBe(0);
    expect(second.progress).toEqual({ total: 4, completed: 4, cached: 4 });
    expect(second.jobGroups.reduce((n, g) => n + g.progress.cached, 0)).toBe(4);
    expect(second.savedSeconds).toBeGreaterThan(0);
    expect(t.app.services.cache.stats.hits - hitsBefore).toBe(4);
    // The fleet's totals are counted where the hits commit: 4 more, the saved seconds with them.
    const fleet = await t.app.services.cache.totals();
    expect(fleet.hits - fleetBefore.hits).toBeGreaterThanOrEqual(4);
    expect(fleet.savedSeconds - fleetBefore.savedSeconds).toBeGreaterThanOrEqual(second.savedSeconds - 1e-6);
    const scraped = await createMetrics(false, async () => ({ hits: 7, savedSeconds: 2.5 })).registry.metrics();
    expect(scraped).toContain('marie_cache_hits_total 7');
    expect(scraped).toContain('marie_cache_saved_seconds_total 2.5');
    const f = byTask(first);
    for (const j of second.jobs) {
      expect(j.state).toBe('COMPLETED');
      expect(j.attempts).toEqual([
        { tryNumber: 1, outcome: 'CACHED', cachedFrom: { dagId: a, taskId: j.taskId, tryNumber: 1 } },
      ]);
      expect(j.output).toEqual(f[j.taskId].output);
      expect(j.cacheKey).toMatch(/^c:sha256:[0-9a-f]{64}$/);
      expect(j.cacheKey).toBe(f[j.taskId].cacheKey);
      expect(j.taskState).toEqual(f[j.taskId].taskState);
      expect(j.materializations).toEqual(f[j.taskId].materializations);
    }
    expect(second.assetStatus.every((s) => s.isComplete)).toBe(true);
    // cachedFrom comes with the attempt rows: no statement more than the attempts alone
    // (counted on an api-only app, no sweeps in the background).
    const api = await startTestApp();
    try {
      // The api role's /metrics shows the hits the worker role committed (its own process made none).
      const metricsText = async () => (await fetch(api.url.replace(/\/graphql$/, '/metrics'))).text();
      const valueOf = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      const text = await metricsText();
      const after = await t.app.services.cache.totals();
      expect(api.app.services.cache.stats.hits).toBe(0);
      expect(valueOf(text, 'marie_cache_hits_total')).toBeGreaterThanOrEqual(fleetBefore.hits + 4);
      expect(valueOf(text, 'marie_cache_hits_total')).toBeLessThanOrEqual(after.hits);
      expect(valueOf(text, 'marie_cache_saved_seconds_total')).toBeGreaterThan(fleetBefore.savedSeconds);
      expect(text).not.toMatch(/tenant/i);
      const count = async (fields: string, ids: string[]) => {
        const before = api.app.services.sql.total;
        const q = ids.map((id, i) => `d${i}: dag(id: "${id}") { jobs { attempts { ${fields} } } }`).join(' ');
        ok(await api.gql(`{ ${q} }`, {}, key));
        return api.app.services.sql.total - before;
      };
      await count('outcome', [a]); // warm-up
      const plain = await count('outcome', [a, b]);
      expect(await count('outcome cachedFrom { dagId taskId tryNumber }', [a, b])).toBe(plain);
      expect(await count('outcome cachedFrom { dagId }', [b])).toBe(await count('outcome', [b]));
    } finally {
      await api.stop();
    }
    // Different data: another key, so it runs.
    const c = `c-${randomUUID()}`;
    await submitDag(t, key, pipeline(c, { enabled: true }, 'doc-2'));
    expect((await finished(key, c)).progress.cached).toBe(0);
    expect(callsOf(c)).toBe(4);
  }, 120_000);

  it('a burst of hits is group-committed: 24 hits in a few transactions, each node recorded again with its events and latest pointer', async () => {
    const { key, tenantId } = await t.tenant('submitter');
    const tag = randomUUID();
    const wide = (id: string) => ({
      id,
      name: 'wide',
      cache: { enabled: true },
      jobs: [
        { id: 'root', name: 'root', executor: 'noop', data: { sleepMs: 30, output: { tag } } },
        ...Array.from({ length: 24 }, (_, i) => ({
          id: `leaf-${i}`,
          name: 'leaf',
          executor: 'noop',
          dependencies: ['root'],
          data: { sleepMs: 30, i, materialize: [{ assetKey: `wide/${i}`, version: `v:${tag}:${i}` }] },
        })),
      ],
    });
    const a = `wa-${randomUUID()}`;
    await submitDag(t, key, wide(a));
    expect((await finished(key, a)).progress.cached).toBe(0);
    const before = t.app.services.cache.groupCommitStats;
    const b = `wb-${randomUUID()}`;
    await submitDag(t, key, wide(b));
    const d = await finished(key, b);
    expect(d.progress).toEqual({ total: 25, completed: 25, cached: 25 });
    expect(callsOf(b)).toBe(0);
    const after = t.app.services.cache.groupCommitStats;
    expect(after.items - before.items).toBe(25);
    // The root alone, then the 24 leaves it made ready at once, as the worker takes them from
    // the queue: at most half as many transactions as hits (one each before).
    expect(after.flushes - before.flushes).toBeLessThanOrEqual(12);
    const [row] = await t.app.services.ds.query(
      `SELECT (SELECT count(*)::int FROM materializations WHERE tenant_id = $1 AND dag_id = $2) AS mats,
              (SELECT count(*)::int FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND type = 'ASSET_MATERIALIZED') AS events,
              (SELECT m.dag_id FROM asset_latest l JOIN materializations m ON m.id = l.materialization_id
                WHERE l.tenant_id = $1 AND l.asset_key = 'wide/0') AS latest_dag`,
      [tenantId, b],
    );
    expect(row).toEqual({ mats: 24, events: 24, latest_dag: b });
  }, 120_000);

  it('caching is off unless asked for: no key, every job runs', async () => {
    const { key } = await t.tenant('submitter');
    const a = `off-${randomUUID()}`;
    const { cache: _c, ...plain } = pipeline(a);
    await submitDag(t, key, plain);
    await finished(key, a);
    const b = `off2-${randomUUID()}`;
    await submitDag(t, key, { ...plain, id: b });
    const d = await finished(key, b);
    expect(callsOf(b)).toBe(4);
    expect(d.jobs.every((j) => j.cacheKey === null)).toBe(true);
  }, 120_000);

  it('two identical DAGs at once: each node runs once between them, the other hits its result', async () => {
    const { key } = await t.tenant('submitter');
    const ids = [`r1-${randomUUID()}`, `r2-${randomUUID()}`];
    await Promise.all(ids.map((id) => submitDag(t, key, pipeline(id, { enabled: true }, `race-${ids[0]}`))));
    const [d1, d2] = await Promise.all(ids.map((id) => finished(key, id)));
    expect([d1.state, d2.state]).toEqual(['COMPLETED', 'COMPLETED']);
    for (const task of ['ocr', 'classify', 'extract', 'store']) {
      const ran = calls.filter((c) => ids.includes(c.dagId) && c.taskId === task).length;
      expect(ran, task).toBe(1);
      const outcomes = [byTask(d1)[task], byTask(d2)[task]].map((j) => j.attempts.map((x) => x.outcome).join());
      expect(outcomes.sort(), task).toEqual(['CACHED', 'SUCCEEDED']);
    }
    // Never CACHED from a source that did not succeed.
    for (const d of [d1, d2])
      for (const j of d.jobs)
        for (const at of j.attempts.filter((x) => x.outcome === 'CACHED')) {
          const src = byTask(at.cachedFrom!.dagId === d1.id ? d1 : d2)[at.cachedFrom!.taskId];
          expect(src.attempts.find((x) => x.tryNumber === at.cachedFrom!.tryNumber)?.outcome).toBe('SUCCEEDED');
        }
  }, 120_000);

  it('an expired TTL makes the next submission run again', async () => {
    const { key } = await t.tenant('submitter');
    const a = `ttl-${randomUUID()}`;
    await submitDag(t, key, pipeline(a, { enabled: true, ttlSeconds: 1 }, `ttl-${a}`));
    await finished(key, a);
    await new Promise((r) => setTimeout(r, 1_500));
    const b = `ttl2-${randomUUID()}`;
    await submitDag(t, key, pipeline(b, { enabled: true, ttlSeconds: 1 }, `ttl-${a}`));
    const d = await finished(key, b);
    expect(callsOf(b)).toBe(4);
    expect(d.progress.cached).toBe(0);
  }, 120_000);

  it('invalidateCache forgets the keys of an executor (one code version, or all): the next submission runs', async () => {
    const { key } = await t.tenant('submitter');
    const doc = `inv-${randomUUID()}`;
    const a = `inv-${randomUUID()}`;
    await submitDag(t, key, pipeline(a, { enabled: true }, doc));
    await finished(key, a);
    const INVALIDATE = `mutation ($e: String!, $v: String) { invalidateCache(executor: $e, codeVersion: $v) }`;
    expect(
      ok(await t.gql<{ invalidateCache: number }>(INVALIDATE, { e: 'noop', v: 'other' }, key)).invalidateCache,
    ).toBe(0);
    const n = ok(await t.gql<{ invalidateCache: number }>(INVALIDATE, { e: 'noop', v: noop.codeVersion }, key));
    expect(n.invalidateCache).toBe(4);
    const b = `inv2-${randomUUID()}`;
    await submitDag(t, key, pipeline(b, { enabled: true }, doc));
    expect((await finished(key, b)).progress.cached).toBe(0);
    expect(callsOf(b)).toBe(4);
    // Without a code version: all of them (b's four keys).
    expect(ok(await t.gql<{ invalidateCache: number }>(INVALIDATE, { e: 'noop' }, key)).invalidateCache).toBe(4);
    const { key: reader } = await t.tenant('reader');
    expect(codeOf(await t.gql(INVALIDATE, { e: 'noop' }, reader))).toBe('FORBIDDEN');
  }, 120_000);

  it('a cache hit never crosses tenants', async () => {
    const { key: k1 } = await t.tenant('submitter');
    const { key: k2 } = await t.tenant('submitter');
    const doc = `tenant-${randomUUID()}`;
    const a = `ten-${randomUUID()}`;
    await submitDag(t, k1, pipeline(a, { enabled: true }, doc));
    await finished(k1, a);
    const b = `ten2-${randomUUID()}`;
    await submitDag(t, k2, pipeline(b, { enabled: true }, doc));
    const d = await finished(k2, b);
    expect(callsOf(b)).toBe(4);
    expect(d.progress.cached).toBe(0);
  }, 120_000);

  it('a job given its own cache.key hits any earlier attempt with that key; enabled false on a job runs it', async () => {
    const { key } = await t.tenant('submitter');
    const own = `k-${randomUUID()}`;
    const a = `own-${randomUUID()}`;
    const dag = (id: string, doc: string) => ({
      id,
      name: 'own-key',
      cache: { enabled: true },
      jobs: [
        { id: 'one', name: 'one', executor: 'noop', data: { output: doc }, cache: { key: own } },
        { id: 'two', name: 'two', executor: 'noop', data: { output: doc }, cache: { enabled: false } },
      ],
    });
    await submitDag(t, key, dag(a, 'x'));
    await finished(key, a);
    const b = `own2-${randomUUID()}`;
    await submitDag(t, key, dag(b, 'y')); // other data, same given key: a hit
    const d = byTask(await finished(key, b));
    expect(d.one.attempts[0].outcome).toBe('CACHED');
    expect(d.one.output).toBe('x');
    expect(d.one.cacheKey).toBe(own);
    expect(d.two.attempts[0].outcome).toBe('SUCCEEDED');
    expect(d.two.cacheKey).toBeNull();
  }, 120_000);

  it.each([
    [{ cache: { enabled: true, ttlSeconds: -1 } }, 'input.cache.ttlSeconds'],
    [{ jobCache: { key: '' } }, 'input.jobs[0].cache.key'],
    [{ jobCache: { key: 'k'.repeat(256) } }, 'input.jobs[0].cache.key'],
    [{ jobCache: { ttlSeconds: -5 } }, 'input.jobs[0].cache.ttlSeconds'],
  ])('bad cache input %j → BAD_USER_INPUT naming %s, nothing stored', async (bad, field) => {
    const { key } = await t.tenant('submitter');
    const id = `bad-${randomUUID()}`;
    const input = {
      id,
      name: 'bad',
      ...('cache' in bad ? { cache: bad.cache } : {}),
      jobs: [{ id: 'one', name: 'one', executor: 'noop', ...('jobCache' in bad ? { cache: bad.jobCache } : {}) }],
    };
    const res = await t.gql(`mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id } }`, { input }, key);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe(field);
    expect(ok(await t.gql<{ dag: unknown }>(`query ($id: ID!) { dag(id: $id) { id } }`, { id }, key)).dag).toBeNull();
  });
});
