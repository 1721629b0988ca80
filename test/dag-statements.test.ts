import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitDag, waitFor } from './support/dag-helpers';
import { freshDatabase } from './support/fresh-database';
import { logTo } from './support/log-capture';
import { ok, startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  // The api role alone: no sweeps issue statements in the background while we count.
  t = await startTestApp({ roles: ['api'] });
});
afterAll(async () => {
  await t?.stop();
});

const QUERY = `query ($id: ID!) { dag(id: $id) {
  jobs { taskId dependencies { taskId } dependents { taskId } assetStatus { isComplete } attempts { outcome } dag { id } }
  progress { percent } assetStatus { nodeTaskId } } }`;

async function layeredDag(key: string, n: number): Promise<string> {
  const id = `count-${n}-${randomUUID()}`;
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const jobs = Array.from({ length: n }, (_, i) => ({
    id: `j${i}`,
    name: 'step',
    executor: 'noop',
    startAfter: later,
    dependencies: i === 0 ? [] : [`j${Math.floor((i - 1) / 2)}`],
    assets: [{ key: `out/j${i}` }],
  }));
  const dagId = await submitDag(t, key, { id, name: 'count', jobs });
  // submitDag's after-commit dispatch pass issues statements too (a claim of whatever is
  // ready in the test run's database): over before anything is counted.
  await t.app.services.jobCommands.settled();
  return dagId;
}

it('costs the same number of statements for a 10-job and a 1,000-job DAG', async () => {
  const { key } = await t.tenant('submitter');
  const small = await layeredDag(key, 10);
  const big = await layeredDag(key, 1000);
  const count = async (id: string) => {
    const before = t.app.services.sql.total;
    const data = ok(await t.gql<{ dag: { jobs: unknown[] } }>(QUERY, { id }, key));
    return { statements: t.app.services.sql.total - before, jobs: data.dag.jobs.length };
  };
  const a = await count(small);
  const b = await count(big);
  expect(a.jobs).toBe(10);
  expect(b.jobs).toBe(1000);
  expect(b.statements).toBe(a.statements);
  expect(a.statements).toBeLessThanOrEqual(12);
});

it('batches aliased dag(id:) fields: five DAGs with their jobs cost what one does', async () => {
  const { key } = await t.tenant('submitter');
  const ids = await Promise.all([10, 10, 10, 10, 10].map(() => layeredDag(key, 10)));
  await t.app.services.jobCommands.settled(); // submitDag's after-commit effects issue statements too
  const one = `query ($a: ID!) { a: dag(id: $a) { id jobs { taskId dependencies { taskId } } progress { percent } } }`;
  const five = `query ($a: ID!, $b: ID!, $c: ID!, $d: ID!, $e: ID!) {
    ${['a', 'b', 'c', 'd', 'e'].map((v) => `${v}: dag(id: $${v}) { id jobs { taskId dependencies { taskId } } progress { percent } }`).join('\n')} }`;
  const count = async (q: string, vars: Record<string, string>) => {
    const before = t.app.services.sql.total;
    const data = ok(await t.gql<Record<string, { id: string; jobs: unknown[] }>>(q, vars, key));
    return { statements: t.app.services.sql.total - before, data };
  };
  const a = await count(one, { a: ids[0] });
  const b = await count(five, { a: ids[0], b: ids[1], c: ids[2], d: ids[3], e: ids[4] });
  expect(Object.values(b.data).map((d) => [d.id, d.jobs.length])).toEqual(ids.map((id) => [id, 10]));
  expect(b.statements).toBe(a.statements);
});

// The dashboard's two big reads (ui/): the Runs page and a Run's detail.
const RUNS_PAGE = `query ($name: String) { dags(name: $name, first: 50) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id name state slaStatus createdAt progress { total pending active completed failed skipped percent }
    jobGroups { level executor progress { total pending active completed failed skipped percent } } } } } }`;
const RUN_DETAIL = `query ($id: ID!) { dag(id: $id) { id name state progress { total percent }
  jobGroups { level executor progress { total pending active completed failed skipped percent } }
  jobPage(first: 100) { totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id taskId state jobLevel executor tryNumber progressPercent } } }
  assetStatus { nodeTaskId isComplete missingRequiredAssets } } }`;

it('costs the same number of statements for the Runs page and the Run detail of a 10-job and a 1,000-job DAG', async () => {
  const { key } = await t.tenant('submitter');
  const small = await layeredDag(key, 10);
  const big = await layeredDag(key, 1000);
  const count = async <T>(query: string, vars: Record<string, unknown>) => {
    const before = t.app.services.sql.total;
    const data = ok(await t.gql<T>(query, vars, key));
    return { statements: t.app.services.sql.total - before, data };
  };
  type Detail = {
    dag: { jobGroups: Array<{ progress: { total: number } }>; jobPage: { totalCount: number; edges: unknown[] } };
  };
  const a = await count<Detail>(RUN_DETAIL, { id: small });
  const b = await count<Detail>(RUN_DETAIL, { id: big });
  expect([a.data.dag.jobPage.totalCount, a.data.dag.jobPage.edges.length]).toEqual([10, 10]);
  expect([b.data.dag.jobPage.totalCount, b.data.dag.jobPage.edges.length]).toEqual([1000, 100]);
  expect(b.data.dag.jobGroups.reduce((n, g) => n + g.progress.total, 0)).toBe(1000);
  expect(b.statements).toBe(a.statements);
  expect(a.statements).toBeLessThanOrEqual(8);
  // The Runs page: each list holds one of the two DAGs (the same name, in a tenant of its own).
  type Runs = { dags: { edges: Array<{ node: { jobGroups: Array<{ progress: { total: number } }> } }> } };
  const runs = async (n: number) => {
    const tenant = await t.tenant('submitter');
    const id = await layeredDag(tenant.key, n);
    const before = t.app.services.sql.total;
    const data = ok(await t.gql<Runs>(RUNS_PAGE, { name: 'count' }, tenant.key));
    expect(data.dags.edges.map((e) => e.node.jobGroups.reduce((s, g) => s + g.progress.total, 0))).toEqual([n]);
    expect(id).toBeTruthy();
    return t.app.services.sql.total - before;
  };
  const r10 = await runs(10);
  const r1000 = await runs(1000);
  expect(r1000).toBe(r10);
  expect(r10).toBeLessThanOrEqual(6);
});

it('lists DAGs by state, name and time with cursor pagination, and shows jobs with their dependencies', async () => {
  const { key } = await t.tenant('submitter');
  const name = `list-${randomUUID()}`;
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push(
      await submitDag(t, key, {
        id: `${name}-${i}`,
        name,
        jobs: [
          { id: 'a', name: 'a', executor: 'noop', startAfter: new Date(Date.now() + 3_600_000).toISOString() },
          { id: 'b', name: 'b', executor: 'noop', dependencies: ['a'] },
        ],
      }),
    );
  }
  const Q = `query ($name: String, $after: String, $state: DagState, $createdAfter: DateTime) {
    dags(name: $name, first: 2, after: $after, state: $state, createdAfter: $createdAfter) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id state jobs { taskId jobLevel dependencies { taskId } dependents { taskId } } } } } }`;
  type Page = {
    dags: {
      totalCount: number;
      pageInfo: { hasNextPage: boolean; endCursor: string };
      edges: Array<{
        node: {
          id: string;
          jobs: Array<{
            taskId: string;
            jobLevel: number;
            dependencies: Array<{ taskId: string }>;
            dependents: Array<{ taskId: string }>;
          }>;
        };
      }>;
    };
  };
  const seen: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page: Page = ok(await t.gql<Page>(Q, { name, after }, key));
    expect(page.dags.totalCount).toBe(5);
    seen.push(...page.dags.edges.map((e) => e.node.id));
    if (!page.dags.pageInfo.hasNextPage) break;
    after = page.dags.pageInfo.endCursor;
  }
  expect(seen).toEqual([...ids].reverse()); // newest first, each once
  const first: Page = ok(await t.gql<Page>(Q, { name }, key));
  const jobs = first.dags.edges[0].node.jobs;
  expect(jobs).toEqual([
    { taskId: 'a', jobLevel: 0, dependencies: [], dependents: [{ taskId: 'b' }] },
    { taskId: 'b', jobLevel: 1, dependencies: [{ taskId: 'a' }], dependents: [] },
  ]);
  const none = ok(await t.gql<Page>(Q, { name, state: 'COMPLETED' }, key));
  expect(none.dags.totalCount).toBe(0);
  const future = ok(await t.gql<Page>(Q, { name, createdAfter: new Date(Date.now() + 60_000).toISOString() }, key));
  expect(future.dags.totalCount).toBe(0);
  expect((await t.gql(Q, { name, after: 'not-a-cursor' }, key)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});

it("claims a child's dispatch in the transaction that completes its last parent", async () => {
  const { key, tenantId } = await t.tenant('submitter');
  const id = `claim-${randomUUID()}`;
  await submitDag(t, key, {
    id,
    name: 'claim',
    jobs: [
      { id: 'p', name: 'p', executor: 'noop' },
      { id: 'c', name: 'c', executor: 'noop', dependencies: ['p'] },
    ],
  });
  await t.app.services.jobCommands.settled(); // dispatch is an after-commit effect of submitDag
  const rows: Array<{ id: string; task_id: string; dispatch: number }> = await t.app.services.ds.query(
    `SELECT id, task_id, dispatch FROM jobs WHERE tenant_id = $1 AND dag_id = $2 ORDER BY task_id`,
    [tenantId, id],
  );
  const [child, parent] = rows;
  expect(parent).toMatchObject({ task_id: 'p', dispatch: 1 }); // claimed at submission (no worker here)
  const started = await t.app.services.attempts.startAttempt(parent.id, 1, 1, 'test-worker');
  expect(started?.taskId).toBe('p');
  const before = t.app.services.sql.total;
  const done = await t.app.services.attempts.completeAttempt(
    { jobId: parent.id, tryNumber: 1, dispatch: 1, workerId: 'test-worker' },
    null,
  );
  const statements = t.app.services.sql.total - before;
  expect(done.claimed.map((c) => [c.id, c.dispatch])).toEqual([[child.id, 1]]);
  const after: Array<{ dispatched: boolean }> = await t.app.services.ds.query(
    `SELECT dispatched_at IS NOT NULL AS dispatched FROM jobs WHERE id = $1`,
    [child.id],
  );
  expect(after[0].dispatched).toBe(true);
  // One transaction: BEGIN … COMMIT with no second claim round trip.
  expect(statements).toBeLessThanOrEqual(8);
});

it('walks downstream for an UPSTREAM lineage only when `downstream` is selected', async () => {
  const { key, tenantId } = await t.tenant('executor');
  const v = (c: string) => `v:sha256:${c.repeat(64)}`;
  const rec = (assetKey: string, version: string, up: Array<{ assetKey: string; version: string }>) =>
    t.app.services.materializations.record(tenantId, { assets: [{ assetKey, version }], upstreamAssets: up });
  await rec('chain/a', v('a'), []);
  await rec('chain/b', v('b'), [{ assetKey: 'chain/a', version: v('a') }]);
  await rec('chain/c', v('c'), [{ assetKey: 'chain/b', version: v('b') }]);
  const run = async (fields: string) => {
    const before = t.app.services.sql.total;
    const data = ok(
      await t.gql<{ lineage: { nodes: Array<{ assetKey: string }>; downstream?: string[] } }>(
        `{ lineage(assetKey: "chain/b", direction: UPSTREAM, depth: 3) { ${fields} } }`,
        {},
        key,
      ),
    );
    return { statements: t.app.services.sql.total - before, lineage: data.lineage };
  };
  await run('nodes { assetKey }'); // warm-up: the API key's lookup is cached after the first request
  const lean = await run('nodes { assetKey }');
  const full = await run('nodes { assetKey } downstream');
  expect(lean.lineage.nodes.map((n) => n.assetKey)).toEqual(['chain/b', 'chain/a']);
  expect(full.lineage.downstream).toEqual(['chain/c']);
  expect(lean.statements).toBeLessThan(full.statements);
});

it('refreshes the job tables’ planner statistics after a DAG bigger than half of what they last counted', async () => {
  const { key } = await t.tenant('submitter');
  const reltuples = async (): Promise<number> => {
    const r: Array<{ n: number }> = await t.app.services.ds.query(
      `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'jobs'::regclass`,
    );
    return Number(r[0].n);
  };
  // Big enough to more than double what the statistics last counted (at least 1,000).
  const n = Math.max(1000, Math.ceil(await reltuples()) + 1);
  await layeredDag(key, n);
  const actual: Array<{ n: number }> = await t.app.services.ds.query(`SELECT count(*)::int AS n FROM jobs`);
  // Without the refresh the planner would still believe the old count (less than half of this).
  expect(await reltuples()).toBeGreaterThanOrEqual(actual[0].n * 0.9);
});

it.each(['refreshed', 'failed'] as const)(
  'answers a big submitDag before the planner statistics are refreshed; its first dispatch waits for the refresh (%s)',
  async (outcome) => {
    // A database of its own: in the run's shared one, the other files' rows move the statistics.
    const db = await freshDatabase();
    const logged: Array<Record<string, unknown>> = [];
    const own = await startTestApp({ roles: ['api'], env: { DATABASE_URL: db.url }, log: logTo(logged, 'warn') });
    try {
      await bigSubmitBeforeAnalyze(own, outcome);
      // A failed refresh is logged, and the dispatch went on without it.
      expect(logged.filter((l) => l.msg === 'refreshing the job tables’ planner statistics failed').length).toBe(
        outcome === 'failed' ? 1 : 0,
      );
    } finally {
      await own.stop();
      await db.drop();
    }
  },
);

/**
 * `refreshed`: the lock ANALYZE waits for is released; `failed`: the waiting ANALYZE is
 * cancelled (an error) while the lock is still held.
 */
async function bigSubmitBeforeAnalyze(t: TestApp, outcome: 'refreshed' | 'failed'): Promise<void> {
  const { key } = await t.tenant('submitter');
  const reltuples: Array<{ n: number }> = await t.app.services.ds.query(
    `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'jobs'::regclass`,
  );
  // Big enough to more than double what the statistics last counted, so they are refreshed.
  const n = Math.max(1000, Math.ceil(Number(reltuples[0].n)) + 1);
  // A lock ANALYZE of jobs waits for (and inserts into jobs do not).
  const holder = t.app.services.ds.createQueryRunner();
  await holder.connect();
  await holder.startTransaction();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await holder.commitTransaction();
    await holder.release();
  };
  try {
    await holder.query('LOCK TABLE jobs IN SHARE UPDATE EXCLUSIVE MODE');
    // Without the change the answer waits for the ANALYZE: the lock goes after 10 s at the latest.
    const timer = setTimeout(() => void release(), 10_000);
    const id = `analyze-${randomUUID()}`;
    const jobs = Array.from({ length: n }, (_, i) => ({
      id: `j${i}`,
      name: 'step',
      executor: 'noop',
      dependencies: i === 0 ? [] : ['j0'],
    }));
    const dagId = await submitDag(t, key, { id, name: 'analyze', jobs });
    clearTimeout(timer);
    expect(released).toBe(false);
    const rootDispatched = async (): Promise<boolean> => {
      const r: Array<{ at: Date | null }> = await t.app.services.ds.query(
        `SELECT dispatched_at AS at FROM jobs WHERE dag_id = $1 AND task_id = 'j0'`,
        [dagId],
      );
      return r[0].at !== null;
    };
    // The dispatch pass waits for the refresh, which waits for the lock.
    await new Promise((r) => setTimeout(r, 300));
    expect(await rootDispatched()).toBe(false);
    if (outcome === 'refreshed') await release();
    else {
      const cancelled = async () => {
        const r: Array<{ n: number }> = await t.app.services.ds.query(
          `SELECT count(*) FILTER (WHERE pg_cancel_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND query = 'ANALYZE jobs'`,
        );
        return r[0].n === 1;
      };
      await waitFor(cancelled, 10_000, 'the waiting ANALYZE to cancel');
    }
    await t.app.services.jobCommands.settled();
    expect(await rootDispatched()).toBe(true);
  } finally {
    await release();
  }
}

it('batches jobGroups and jobPage across the DAGs of a list: one statement each, whatever the list length', async () => {
  const { key } = await t.tenant('submitter');
  const name = `batch-${randomUUID()}`;
  for (let i = 0; i < 4; i += 1) {
    await submitDag(t, key, {
      id: `${name}-${i}`,
      name,
      jobs: Array.from({ length: i + 1 }, (_, j) => ({
        id: `j${j}`,
        name: 'step',
        executor: 'noop',
        startAfter: new Date(Date.now() + 3_600_000).toISOString(),
      })),
    });
  }
  await t.app.services.jobCommands.settled(); // submitDag's after-commit dispatch pass
  const Q = `query ($name: String, $first: Int) { dags(name: $name, first: $first) { edges { node { id
    jobGroups { level executor progress { total } } jobPage(first: 2) { totalCount edges { node { taskId } } } } } } }`;
  type R = {
    dags: {
      edges: Array<{
        node: {
          id: string;
          jobGroups: Array<{ progress: { total: number } }>;
          jobPage: { totalCount: number; edges: Array<{ node: { taskId: string } }> };
        };
      }>;
    };
  };
  const count = async (first: number) => {
    const before = t.app.services.sql.total;
    const data = ok(await t.gql<R>(Q, { name, first }, key));
    return { statements: t.app.services.sql.total - before, data };
  };
  const one = await count(1);
  const four = await count(4);
  expect(four.data.dags.edges).toHaveLength(4);
  for (const { node } of four.data.dags.edges) {
    const n = Number(node.id.split('-').at(-1)) + 1;
    expect(node.jobGroups.map((g) => g.progress.total)).toEqual([n]);
    expect(node.jobPage.totalCount).toBe(n);
    expect(node.jobPage.edges.map((e) => e.node.taskId)).toEqual(['j0', 'j1'].slice(0, n));
  }
  expect(four.statements).toBe(one.statements);
});
