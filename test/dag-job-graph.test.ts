import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitDag, waitFor } from './support/dag-helpers';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'] });
});
afterAll(async () => {
  await t?.stop();
});

const later = () => new Date(Date.now() + 3_600_000).toISOString();

interface Progress {
  total: number;
  pending: number;
  active: number;
  completed: number;
  failed: number;
  skipped: number;
  percent: number;
}
interface Group {
  level: number;
  executor: string;
  progress: Progress;
}
interface JobPage {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: Array<{ cursor: string; node: { taskId: string; jobLevel: number; executor: string; state: string } }>;
}

const GROUPS = `query ($id: ID!) { dag(id: $id) {
  progress { total pending active completed failed skipped percent }
  jobGroups { level executor progress { total pending active completed failed skipped percent } } } }`;
const PAGE = `query ($id: ID!, $first: Int, $after: String, $level: Int, $executor: String, $state: JobState) {
  dag(id: $id) { jobPage(first: $first, after: $after, level: $level, executor: $executor, state: $state) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { taskId jobLevel executor state } } } } }`;

const groupsOf = async (key: string, id: string) =>
  ok(await t.gql<{ dag: { progress: Progress; jobGroups: Group[] } }>(GROUPS, { id }, key)).dag;
const page = (key: string, vars: Record<string, unknown>) => t.gql<{ dag: { jobPage: JobPage } }>(PAGE, vars, key);

/** Every page of a filtered job list, `first` at a time: the task ids in order, and each page's totalCount. */
async function allPages(key: string, vars: Record<string, unknown>, first: number) {
  const ids: string[] = [];
  const totals: number[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i += 1) {
    const p: JobPage = ok(await page(key, { ...vars, first, after })).dag.jobPage;
    totals.push(p.totalCount);
    expect(p.edges.length).toBeLessThanOrEqual(first);
    expect(p.pageInfo.hasPreviousPage).toBe(after !== null);
    expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
    expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
    ids.push(...p.edges.map((e) => e.node.taskId));
    if (!p.pageInfo.hasNextPage) return { ids, totals };
    after = p.pageInfo.endCursor;
  }
  throw new Error('more than 100 pages');
}

describe('Dag.jobGroups', () => {
  it('counts the jobs per (level, executor) and state as they complete, fail and are skipped', async () => {
    const { key } = await t.tenant('submitter');
    const id = `groups-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'groups',
      jobs: [
        { id: 'a', name: 'a', executor: 'noop' },
        { id: 'f', name: 'f', executor: 'elsewhere', startAfter: later() },
        { id: 'b', name: 'b', executor: 'noop', dependencies: ['a'], data: { failTimes: 1 } },
        { id: 'c', name: 'c', executor: 'noop', dependencies: ['a'] },
        { id: 'd', name: 'd', executor: 'noop', dependencies: ['b'] },
        { id: 'e', name: 'e', executor: 'noop', dependencies: ['c'], startAfter: later() },
      ],
    });
    const settled = await waitFor(
      async () => {
        const d = await groupsOf(key, id);
        return d.progress.completed === 2 && d.progress.failed === 1 && d.progress.skipped === 1 ? d : null;
      },
      30_000,
      'a, c completed, b failed, d skipped',
    );
    const p = (o: Partial<Progress>): Progress => {
      const c = { pending: 0, active: 0, completed: 0, failed: 0, skipped: 0, ...o };
      const total = c.pending + c.active + c.completed + c.failed + c.skipped;
      const done = c.completed + c.failed + c.skipped;
      return { total, ...c, percent: Math.round((done / total) * 10_000) / 100 };
    };
    expect(settled.jobGroups).toEqual([
      { level: 0, executor: 'elsewhere', progress: p({ pending: 1 }) },
      { level: 0, executor: 'noop', progress: p({ completed: 1 }) },
      { level: 1, executor: 'noop', progress: p({ completed: 1, failed: 1 }) },
      { level: 2, executor: 'noop', progress: p({ skipped: 1, pending: 1 }) },
    ]);
    // The groups add up to the DAG's own counters.
    for (const k of ['total', 'pending', 'active', 'completed', 'failed', 'skipped'] as const) {
      expect(settled.jobGroups.reduce((n, g) => n + g.progress[k], 0)).toBe(settled.progress[k]);
    }
    // jobPage filters by state too.
    const failed = ok(await page(key, { id, state: 'FAILED' })).dag.jobPage;
    expect(failed.edges.map((e) => e.node.taskId)).toEqual(['b']);
    const done = ok(await page(key, { id, state: 'COMPLETED' })).dag.jobPage;
    expect([done.totalCount, done.edges.map((e) => e.node.taskId)]).toEqual([2, ['a', 'c']]);
    const pendingNoop = ok(await page(key, { id, state: 'CREATED', executor: 'noop' })).dag.jobPage;
    expect(pendingNoop.edges.map((e) => e.node.taskId)).toEqual(['e']);
  });
});

describe('Dag.jobPage', () => {
  // 3 levels; task ids that sort differently by byte and by a locale's rules.
  const ids = ['Zeta', '_u', 'a1', 'a10', 'a2', 'B', 'b', 'c-1', 'c.1', 'C_2', 'x', 'Y', 'y'];
  const dagInput = (id: string, executorOf: (i: number) => string) => ({
    id,
    name: 'paged',
    jobs: ids.map((jid, i) => ({
      id: jid,
      name: 'step',
      executor: executorOf(i),
      startAfter: later(),
      dependencies: i < 4 ? [] : i < 9 ? [ids[i % 4]] : [ids[4 + (i % 5)]],
    })),
  });
  const levelOf = (i: number) => (i < 4 ? 0 : i < 9 ? 1 : 2);
  const expected = ids
    .map((jid, i) => ({ jid, level: levelOf(i), i }))
    .sort((a, b) => a.level - b.level || (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0));

  it('pages every job once in (level, task id) order, with filters, and the same total on every page', async () => {
    const { key } = await t.tenant('submitter');
    const id = `paged-${randomUUID()}`;
    await submitDag(
      t,
      key,
      dagInput(id, (i) => (i % 3 === 0 ? 'gpu-ocr' : 'noop')),
    );
    for (const first of [1, 4, 13, 100]) {
      const { ids: got, totals } = await allPages(key, { id }, first);
      expect(got).toEqual(expected.map((e) => e.jid));
      expect(new Set(totals)).toEqual(new Set([13]));
    }
    // The default page holds them all (first = 100).
    const all = ok(await page(key, { id })).dag.jobPage;
    expect(all.edges).toHaveLength(13);
    expect(all.pageInfo.hasNextPage).toBe(false);
    expect(all.edges.map((e) => e.node.jobLevel)).toEqual(expected.map((e) => e.level));
    // Filters: level, executor, and both.
    const level1 = await allPages(key, { id, level: 1 }, 2);
    expect(level1.ids).toEqual(expected.filter((e) => e.level === 1).map((e) => e.jid));
    expect(new Set(level1.totals)).toEqual(new Set([5]));
    const gpu = await allPages(key, { id, executor: 'gpu-ocr' }, 2);
    expect(gpu.ids).toEqual(expected.filter((e) => e.i % 3 === 0).map((e) => e.jid));
    const both = await allPages(key, { id, executor: 'gpu-ocr', level: 2 }, 10);
    expect(both.ids).toEqual(expected.filter((e) => e.i % 3 === 0 && e.level === 2).map((e) => e.jid));
    const none = ok(await page(key, { id, executor: 'nobody' })).dag.jobPage;
    expect(none).toEqual({
      totalCount: 0,
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      edges: [],
    });
    // first: 0 says whether there is anything, and how much.
    const zero = ok(await page(key, { id, first: 0 })).dag.jobPage;
    expect([zero.edges.length, zero.totalCount, zero.pageInfo.hasNextPage]).toEqual([0, 13, true]);
    // Dag.jobs still returns every job.
    const jobs = ok(
      await t.gql<{ dag: { jobs: unknown[] } }>(`query ($id: ID!) { dag(id: $id) { jobs { taskId } } }`, { id }, key),
    );
    expect(jobs.dag.jobs).toHaveLength(13);
  });

  it('refuses a bad first, after or level with BAD_USER_INPUT naming the argument', async () => {
    const { key } = await t.tenant('submitter');
    const id = `bad-${randomUUID()}`;
    await submitDag(
      t,
      key,
      dagInput(id, () => 'noop'),
    );
    const cursor = ok(await page(key, { id, first: 1 })).dag.jobPage.pageInfo.endCursor;
    const forged = (k: unknown) => Buffer.from(JSON.stringify(k), 'utf8').toString('base64url');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ first: -1 }, 'first'],
      [{ first: 1001 }, 'first'],
      [{ after: 'not-a-cursor' }, 'after'],
      [{ after: forged(['x', 'a']) }, 'after'],
      [{ after: forged(['1']) }, 'after'],
      [{ after: forged(['1', 'bad id']) }, 'after'],
      [{ level: -1 }, 'level'],
    ];
    for (const [vars, field] of cases) {
      const res = await page(key, { id, ...vars });
      expect(codeOf(res), JSON.stringify(vars)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field).toBe(field);
    }
    expect(ok(await page(key, { id, first: 1000, after: cursor })).dag.jobPage.edges).toHaveLength(12);
  });

  it("shows only the caller's tenant's jobs, for the same DAG id in two tenants", async () => {
    const a = await t.tenant('submitter');
    const b = await t.tenant('submitter');
    const id = `shared-${randomUUID()}`;
    await submitDag(
      t,
      a.key,
      dagInput(id, () => 'noop'),
    );
    await submitDag(t, b.key, {
      id,
      name: 'other',
      jobs: [{ id: 'only', name: 'only', executor: 'theirs', startAfter: later() }],
    });
    const pa = ok(await page(a.key, { id })).dag.jobPage;
    const pb = ok(await page(b.key, { id })).dag.jobPage;
    expect([pa.totalCount, pb.totalCount]).toEqual([13, 1]);
    expect(pb.edges.map((e) => e.node.taskId)).toEqual(['only']);
    expect((await groupsOf(b.key, id)).jobGroups).toEqual([
      {
        level: 0,
        executor: 'theirs',
        progress: { total: 1, pending: 1, active: 0, completed: 0, failed: 0, skipped: 0, percent: 0 },
      },
    ]);
    expect((await groupsOf(a.key, id)).jobGroups.map((g) => [g.level, g.progress.total])).toEqual([
      [0, 4],
      [1, 5],
      [2, 4],
    ]);
    // Another tenant's DAG reads like a missing one.
    const c = await t.tenant('reader');
    expect(ok(await t.gql<{ dag: null }>(PAGE, { id }, c.key)).dag).toBeNull();
  });
});
