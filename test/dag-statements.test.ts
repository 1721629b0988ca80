import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitDag } from './support/dag-helpers';
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
  return submitDag(t, key, { id, name: 'count', jobs });
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
