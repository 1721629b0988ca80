import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { one } from '../support/assets';
import { submitDag, waitFor, waitForDag } from '../support/dag-helpers';
import { startTestApp, type TestApp } from '../support/test-app';
import { openBrowser, signIn, type Session } from './browser';

// The dashboard in headless Chromium against a real app (api, scheduler, worker with the
// noop executor), Postgres and Redis. Screenshots land in test-artifacts/screenshots/.

let t: TestApp;
let s: Session;
let base: string;
let tenantId: string;
let submitter: string;
let reader: string;

beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'] });
  base = t.url.replace(/\/graphql$/, '');
  const tenant = await t.tenant('submitter');
  tenantId = tenant.tenantId;
  submitter = tenant.key;
  reader = (await t.app.services.apiKeys.create(tenantId, 'dashboard-reader', 'reader')).key;
  s = await openBrowser();
}, 120_000);

afterEach(async (ctx) => {
  // What the page showed when a test failed, beside the pages' screenshots.
  if (ctx.task.result?.state === 'fail')
    await s?.screenshot(`failed-${ctx.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
});

afterAll(async () => {
  await s?.close();
  await t?.stop();
});

const job = (id: string, data: Record<string, unknown> = {}, more: Record<string, unknown> = {}) => ({
  id,
  name: id,
  executor: 'noop',
  data,
  ...more,
});

/** Records every graph node ever drawn hidden (`visibility: hidden`) in `window.hiddenNodes`. */
const HIDDEN_NODES = `
  window.hiddenNodes = [];
  new MutationObserver(() => {
    for (const n of document.querySelectorAll('.react-flow__node'))
      if (n.style.visibility === 'hidden' && !window.hiddenNodes.includes(n.dataset.id)) window.hiddenNodes.push(n.dataset.id);
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['style'] });
`;

describe('dashboard', { timeout: 90_000 }, () => {
  it('signs in with a pasted key and shows its role', async () => {
    await s.page.goto(`${base}/`);
    await s.screenshot('sign-in');
    await signIn(s.page, base, submitter);
    const who = await s.page.textContent('[data-testid=who]');
    expect(who).toContain('submitter');
    expect(await s.page.evaluate("sessionStorage.getItem('marie.apiKey')")).toBe(submitter);
  });

  it('shows a DAG submitted through the API in Runs without a reload, then its end', async () => {
    await signIn(s.page, base, submitter);
    await s.page.waitForSelector('[data-testid=runs]');
    const marker = await s.page.evaluate('window.marker = 42');
    const id = await submitDag(t, submitter, {
      name: 'live-runs',
      jobs: [job('a', { sleepMs: 300 }), job('b', {}, { dependencies: ['a'] })],
    });
    const row = s.page.locator(`tr[data-dag="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    await s.page.waitForSelector(`tr[data-dag="${id}"][data-state=COMPLETED]`, { timeout: 20_000 });
    // The same document: no reload happened.
    expect(await s.page.evaluate('window.marker')).toBe(marker);
    expect(await row.textContent()).toContain('live-runs');
    await s.screenshot('runs');
  });

  it('resumes Runs after a lost connection from its last cursor: what happened meanwhile shows up', async () => {
    // The page's sockets go through a route that can cut them and refuse new ones.
    const routed: Array<{ close(): Promise<void> }> = [];
    let refuse = false;
    let connections = 0;
    await s.page.routeWebSocket(/\/graphql$/, (ws) => {
      connections++;
      if (refuse) return void ws.close();
      ws.connectToServer();
      routed.push(ws);
    });
    try {
      await signIn(s.page, base, submitter);
      await s.page.waitForSelector('[data-testid=runs]');
      await waitFor(async () => connections > 0, 15_000, 'the live socket');
      refuse = true;
      for (const ws of routed.splice(0)) await ws.close();
      const id = await submitDag(t, submitter, { name: 'while-offline', jobs: [job('a')] });
      await waitForDag(t, submitter, id, ['COMPLETED']);
      const refused = connections;
      refuse = false;
      // The next try (with backoff) subscribes again `after` the last cursor: the replay
      // brings the DAG's creation and its end, with no reload.
      await s.page.waitForSelector(`tr[data-dag="${id}"][data-state=COMPLETED]`, { timeout: 30_000 });
      expect(connections).toBeGreaterThan(refused);
    } finally {
      await s.page.unrouteAll();
    }
  });

  it('turns the graph nodes green as the workers complete them', async () => {
    await signIn(s.page, base, submitter);
    const id = await submitDag(t, submitter, {
      name: 'graph-live',
      jobs: [
        job('ocr', { sleepMs: 2500 }),
        job('classify', { sleepMs: 300 }, { dependencies: ['ocr'] }),
        job('extract', { sleepMs: 300 }, { dependencies: ['ocr'] }),
        job('store', {}, { dependencies: ['classify', 'extract'] }),
      ],
    });
    // Every node stays visible through the live updates: React Flow hides a node it has no
    // size for (each update hands it new node objects), so the nodes carry the layout's size.
    await s.page.addInitScript(HIDDEN_NODES);
    await s.page.goto(`${base}/runs/${id}`);
    await s.page.waitForSelector('[data-task=store]', { timeout: 15_000 });
    // Seen unfinished first (ocr sleeps 2.5 s, so the rest wait on it)…
    expect(await s.page.getAttribute('[data-task=store]', 'data-state')).not.toBe('COMPLETED');
    // …then every node completed, without a reload, and drawn green.
    await waitFor(
      async () => (await s.page.locator('[data-task][data-state=COMPLETED]').count()) === 4,
      30_000,
      'green',
    );
    const border = await s.page.evaluate(
      "getComputedStyle(document.querySelector('[data-task=store]')).borderTopColor",
    );
    expect(border).toBe('rgb(31, 157, 85)');
    expect(await s.page.evaluate('window.hiddenNodes')).toEqual([]);
    await s.screenshot('run-detail');
  });

  it('draws a cache hit as cached the moment its event arrives, without a reload', async () => {
    await signIn(s.page, base, submitter);
    const doc = `doc-${Date.now()}`;
    // gate runs every time (caching off on it, 8 s: the page loads before it ends, even on a
    // loaded machine), with the same output: hit hits after it.
    const dag = () => ({
      name: 'cache-live',
      cache: { enabled: true },
      jobs: [
        job('gate', { sleepMs: 8000, output: { doc } }, { cache: { enabled: false } }),
        job('hit', { doc, output: { doc } }, { dependencies: ['gate'] }),
      ],
    });
    await waitForDag(t, submitter, await submitDag(t, submitter, dag()), ['COMPLETED']);
    const id = await submitDag(t, submitter, dag());
    await s.page.goto(`${base}/runs/${id}`);
    await s.page.waitForSelector('[data-task=hit]', { timeout: 15_000 });
    expect(await s.page.getAttribute('[data-task=hit]', 'data-state')).not.toBe('COMPLETED');
    await s.page.waitForSelector('[data-task=hit][data-state=COMPLETED][data-cached]', { timeout: 30_000 });
    expect(await s.page.textContent('[data-task=hit]')).toContain('cached');
    // The gate ran: drawn completed, not cached.
    expect(await s.page.getAttribute('[data-task=gate]', 'data-cached')).toBeNull();
  });

  it('shows a failing job with its error and attempts; Retry runs it again, a reader sees no Retry', async () => {
    const id = await submitDag(t, submitter, {
      name: 'failing',
      jobs: [job('flaky', { failTimes: 9 }, { retryLimit: 1 })],
    });
    await waitForDag(t, submitter, id, ['FAILED']);

    await signIn(s.page, base, reader);
    await s.page.goto(`${base}/runs/${id}`);
    await s.page.click('[data-task=flaky]');
    await s.page.waitForSelector('[data-testid=node-panel] [data-testid=attempts]');
    expect(await s.page.textContent('[data-testid=job-error]')).toContain('noop: failing try 2 of 9');
    expect(await s.page.locator('[data-testid=attempts] tbody tr').count()).toBe(2);
    expect(await s.page.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    expect(await s.page.getByRole('button', { name: 'Cancel job' }).count()).toBe(0);

    await signIn(s.page, base, submitter);
    await s.page.goto(`${base}/runs/${id}`);
    await s.page.click('[data-task=flaky]');
    await s.page.waitForSelector('[data-testid=attempts]');
    await s.screenshot('node-panel');
    await s.page.getByRole('button', { name: 'Retry' }).click();
    // The retry is a new try (3), and it fails again (failTimes 9): four attempts in all.
    await waitFor(async () => (await s.page.locator('[data-testid=attempts] tbody tr').count()) >= 3, 20_000, 'try 3');
    await waitFor(async () => {
      const r = await t.gql<{ job: { tryNumber: number } }>(
        `query ($d: ID!) { job(dagId: $d, taskId: "flaky") { tryNumber } }`,
        { d: id },
        submitter,
      );
      return (r.data?.job.tryNumber ?? 0) >= 3;
    });
  });

  it('draws a DAG over 300 jobs collapsed by level and executor, and opens a group a page at a time', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const roots = Array.from({ length: 250 }, (_, i) => job(`r${i}`, {}, { startAfter: later }));
    const leaves = Array.from({ length: 60 }, (_, i) =>
      job(`l${i}`, {}, { executor: 'other', startAfter: later, dependencies: [`r${i}`] }),
    );
    const id = await submitDag(t, submitter, { name: 'big', jobs: [...roots, ...leaves] });
    await signIn(s.page, base, reader);
    await s.page.goto(`${base}/runs/${id}`);
    const graph = s.page.locator('[data-testid=dag-graph]');
    await s.page.waitForSelector('[data-group="g:0:noop"]');
    expect(await graph.getAttribute('data-units')).toBe('2');
    expect(await s.page.getAttribute('[data-group="g:0:noop"]', 'data-total')).toBe('250');
    expect(await s.page.textContent('[data-group="g:1:other"]')).toContain('60 pending');
    await s.screenshot('run-detail-grouped');
    // A click opens the group: its first 200 jobs, and a node for the 50 more.
    await s.page.click('[data-group="g:0:noop"]');
    await waitFor(async () => (await graph.getAttribute('data-units')) === '202', 15_000, 'the first page');
    await s.page.click('[data-more="g:0:noop"]', { timeout: 15_000 });
    await waitFor(async () => (await graph.getAttribute('data-units')) === '251', 15_000, 'the second page');
    expect(await s.page.locator('[data-more]').count()).toBe(0);
  });

  it("shows an asset's staleness cause after an upstream re-materialization", async () => {
    const a1 = await one(t, tenantId, 'docs/raw', 'one');
    await one(t, tenantId, 'docs/text', 'text-of-one', [a1]);
    await signIn(s.page, base, reader);
    await s.page.goto(`${base}/assets/docs/text`);
    await s.page.waitForSelector('[data-testid=latest] .badge.fresh');
    await one(t, tenantId, 'docs/raw', 'two');
    await s.page.reload();
    await s.page.waitForSelector('[data-testid=latest] [data-testid=stale-reasons]');
    const reasons = await s.page.textContent('[data-testid=latest] [data-testid=stale-reasons]');
    expect(reasons).toContain('UPSTREAM_CHANGED');
    expect(reasons).toContain('docs/raw');
    await s.screenshot('asset');
    await s.page.goto(`${base}/assets?search=docs`);
    await s.page.waitForSelector('[data-testid=assets] tbody tr');
    expect(await s.page.locator('[data-testid=assets] tbody tr').count()).toBe(2);
    await s.screenshot('assets');
  });

  it('expands a node in the lineage explorer', async () => {
    let prev = await one(t, tenantId, 'chain/n0', 'n0');
    for (let i = 1; i <= 4; i++) prev = await one(t, tenantId, `chain/n${i}`, `n${i}`, [prev]);
    await signIn(s.page, base, reader);
    await s.page.goto(`${base}/lineage/chain/n0`);
    await s.page.waitForSelector('[data-asset="chain/n2"]');
    // Depth 2 from n0: n0, n1, n2; n3 lies beyond n2.
    expect(await s.page.locator('[data-asset]').count()).toBe(3);
    expect(await s.page.getAttribute('[data-asset="chain/n2"]', 'data-beyond')).toBe('1');
    await s.page.click('[data-asset="chain/n2"]');
    await s.page.waitForSelector('[data-asset="chain/n3"]');
    expect(await s.page.getAttribute('[data-asset="chain/n2"]', 'data-beyond')).toBe('0');
    await s.screenshot('lineage');
  });

  it('pages a wide lineage: the first 100 nodes, then the next page on a click', async () => {
    const hub = await one(t, tenantId, 'fan/hub', 'hub');
    for (let i = 0; i < 120; i++) await one(t, tenantId, `fan/d${String(i).padStart(3, '0')}`, `d${i}`, [hub]);
    await signIn(s.page, base, reader);
    await s.page.goto(`${base}/lineage/fan/hub`);
    const count = s.page.locator('[data-testid=lineage-count]');
    await count.waitFor();
    expect(await count.getAttribute('data-shown')).toBe('100');
    expect(await count.textContent()).toContain('121 within depth 2');
    await s.page.getByRole('button', { name: 'Next 100' }).click();
    await waitFor(async () => (await count.getAttribute('data-shown')) === '121', 15_000, 'the second page');
    expect(await s.page.getByRole('button', { name: 'Next 100' }).count()).toBe(0);
  });

  it('shows the fleet: the worker, the queues and the quota, live', async () => {
    await signIn(s.page, base, reader);
    await s.page.goto(`${base}/fleet`);
    await s.page.waitForSelector('[data-testid=workers] tbody tr');
    expect(await s.page.textContent('[data-testid=workers]')).toContain('noop');
    await s.page.waitForSelector('[data-testid=queues] tbody tr');
    await s.page.waitForSelector('[data-testid=quota]');
    // Submitted after the page opened: 4 jobs of one concurrency key (limit 1) on an
    // executor no worker hosts, so one is in flight and 3 are held back by the key.
    const parked = `fleet-parked-${Date.now().toString(36)}`;
    const keyed = (id: string) => job(id, {}, { executor: parked, concurrencyKey: 'doc-7', concurrencyLimit: 1 });
    const dagId = await submitDag(t, submitter, { name: 'fleet-quota', jobs: ['k1', 'k2', 'k3', 'k4'].map(keyed) });
    const row = s.page.locator('[data-testid=queues] tbody tr', { hasText: parked });
    await row.waitFor({ timeout: 15_000 });
    // Executor, waiting, active, delayed, failed, completed, throttled, workers.
    await waitFor(async () => (await row.locator('td').nth(6).textContent()) === '3', 15_000, 'throttled 3');
    expect(await row.locator('td').nth(7).textContent()).toBe('0');
    await waitFor(async () => (await s.page.textContent('[data-testid=quota-held]')) === '3', 15_000, 'held 3');
    const throttled = s.page.locator('[data-testid=throttled] tbody tr', { hasText: 'doc-7' });
    expect(await throttled.locator('td').allTextContents()).toEqual(['concurrency key', '—', 'doc-7', '3']);
    expect(Number(await s.page.textContent('[data-testid=quota-active]'))).toBeGreaterThanOrEqual(1);
    await s.screenshot('fleet');
    await t.gql('mutation ($id: ID!) { cancelDag(id: $id) { id } }', { id: dagId }, submitter);
  });

  it('runs a query and a subscription in GraphiQL with the signed-in key', async () => {
    await signIn(s.page, base, submitter);
    await s.page.goto(`${base}/graphiql`);
    await s.page.waitForSelector('.graphiql-query-editor .CodeMirror');
    const run = async (query: string) => {
      // GraphiQL's editor is CodeMirror 5: set its text through its own API.
      await s.page.evaluate(
        `document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(${JSON.stringify(query)})`,
      );
      await s.page.click('.graphiql-execute-button');
    };
    const response = () => s.page.textContent('.graphiql-response') as Promise<string>;
    await run('query { me { role tenant } }');
    await waitFor(async () => (await response()).includes('"SUBMITTER"'), 15_000, 'the query answer');
    await s.screenshot('graphiql');

    await run('subscription { dagStatusChanged { dagId state } }');
    const id = await submitDag(t, submitter, { name: 'graphiql-sub', jobs: [job('x')] });
    await waitFor(async () => (await response()).includes(id), 20_000, 'the subscription event');
  });

  it('made no request to any other origin and broke no CSP rule', async () => {
    const host = new URL(base).host;
    const foreign = s.requests.filter((u) => !u.startsWith('data:') && new URL(u).host !== host);
    expect(s.requests.length).toBeGreaterThan(20);
    expect(s.requests.some((u) => u.startsWith(`ws://${host}/graphql`))).toBe(true);
    expect(foreign).toEqual([]);
    expect(s.cspViolations).toEqual([]);
  });
});
