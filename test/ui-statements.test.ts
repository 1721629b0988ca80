import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  GroupJobsDocument,
  RunDetailDocument,
  RunsDocument,
  type RunDetailQuery,
  type RunsQuery,
} from '../ui/src/graphql/generated/graphql';
import { submitDag } from './support/dag-helpers';
import { ok, startTestApp, type TestApp } from './support/test-app';

// The dashboard's own documents (ui/src/graphql, as the browser sends them) cost a bounded
// number of SQL statements: the same for a 10-job and a 1,000-job DAG.

let t: TestApp;
let key: string;
beforeAll(async () => {
  // The api role alone: no sweep issues statements in the background while we count.
  t = await startTestApp({ roles: ['api'] });
  key = (await t.tenant('submitter')).key;
});
afterAll(async () => t?.stop());

/** A DAG of `n` jobs over two executors, each job depending on its parent in a binary tree. */
async function dag(n: number, name: string): Promise<string> {
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const jobs = Array.from({ length: n }, (_, i) => ({
    id: `j${i}`,
    name: 'step',
    executor: i % 2 ? 'noop' : 'other',
    startAfter: later,
    dependencies: i === 0 ? [] : [`j${Math.floor((i - 1) / 2)}`],
  }));
  return submitDag(t, key, { id: `ui-${n}-${randomUUID()}`, name, jobs });
}

async function statements<T>(query: { toString(): string }, variables: Record<string, unknown>) {
  await t.app.services.jobCommands.settled(); // submitDag's after-commit effects issue statements too
  const before = t.app.services.sql.total;
  const data = ok(await t.gql<T>(query.toString(), variables, key));
  return { data, statements: t.app.services.sql.total - before };
}

it('costs the same for the Runs page, the Run detail and an opened group of a 10-job and a 1,000-job DAG', async () => {
  const small = await dag(10, `small-${randomUUID()}`);
  const big = await dag(1000, `big-${randomUUID()}`);
  const smallName = (
    await t.gql<{ dag: { name: string } }>('query ($id: ID!) { dag(id: $id) { name } }', { id: small }, key)
  ).data?.dag.name;
  const bigName = (
    await t.gql<{ dag: { name: string } }>('query ($id: ID!) { dag(id: $id) { name } }', { id: big }, key)
  ).data?.dag.name;

  const runsSmall = await statements<RunsQuery>(RunsDocument, { name: smallName, first: 25 });
  const runsBig = await statements<RunsQuery>(RunsDocument, { name: bigName, first: 25 });
  expect(runsSmall.data.dags.edges[0]?.node.progress.total).toBe(10);
  expect(runsBig.data.dags.edges[0]?.node.progress.total).toBe(1000);
  expect(runsBig.statements).toBe(runsSmall.statements);

  const detailSmall = await statements<RunDetailQuery>(RunDetailDocument, { id: small, first: 300 });
  const detailBig = await statements<RunDetailQuery>(RunDetailDocument, { id: big, first: 300 });
  expect(detailSmall.data.dag?.jobPage.edges).toHaveLength(10);
  expect(detailBig.data.dag?.jobPage.totalCount).toBe(1000);
  expect(detailBig.data.dag?.jobPage.edges).toHaveLength(300);
  expect(detailBig.data.dag?.jobGroups.length).toBeGreaterThan(2);
  expect(detailBig.statements).toBe(detailSmall.statements);
  expect(detailSmall.statements).toBeLessThanOrEqual(10);

  const group = (id: string) =>
    statements<{ dag: { jobPage: { edges: unknown[] } } }>(GroupJobsDocument, {
      id,
      level: 3,
      executor: 'noop',
      first: 200,
    });
  const groupSmall = await group(small);
  const groupBig = await group(big);
  expect(groupSmall.data.dag.jobPage.edges.length).toBeGreaterThan(0);
  expect(groupBig.data.dag.jobPage.edges.length).toBe(4);
  expect(groupBig.statements).toBe(groupSmall.statements);
});
