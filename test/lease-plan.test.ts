import { expect, it } from 'vitest';
import { JobAttemptsRepository } from '../src/repositories/job-attempts.repository';
import { submitDag } from './support/dag-helpers';
import { nodesOf, planDatabase, type PlanNode } from './support/plan-database';

/**
 * The lease guard finds its jobs by id, whatever the planner's statistics say. Set up as a
 * large fan-out leaves them: the job tables analysed while nothing was in flight, then a
 * claim of thousands of jobs at once (dispatched, a batch of them started). A guarded batch
 * statement planned on those statistics once chose `jobs_inflight_idx` (its predicate,
 * `state = 'ACTIVE' OR …`, follows from the guard's state test) and read every in-flight
 * job to find the batch's.
 */
const setup = planDatabase();
const IN_FLIGHT = 3_000;
const BATCH = 50;

it('a guarded batch reads its own jobs through the primary key after a large claim, one look-up each', async () => {
  const { app: t, pg } = setup;
  const { key, tenantId } = await t.tenant('submitter');
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const jobs = Array.from({ length: IN_FLIGHT }, (_, i) => ({
    id: `m${i}`,
    name: 'noop',
    executor: 'noop',
    startAfter: later,
  }));
  const dagId = await submitDag(t, key, { name: 'fan', jobs });
  await t.app.services.jobCommands.settled();
  // Statistics from before the claim: nothing in flight.
  await pg.query('ANALYZE jobs');
  // The claim (every job dispatched), and a batch of them started by worker w1.
  await pg.query(`UPDATE jobs SET dispatched_at = now(), dispatch = 1 WHERE tenant_id = $1 AND dag_id = $2`, [
    tenantId,
    dagId,
  ]);
  const { rows } = await pg.query<{ id: string }>(
    `UPDATE jobs SET state = 'ACTIVE', lease_owner = 'w1' WHERE id IN (
         SELECT id FROM jobs WHERE tenant_id = $1 AND dag_id = $2 ORDER BY id LIMIT $3) RETURNING id`,
    [tenantId, dagId, BATCH],
  );
  // The completion statement itself, as the repository writes it: its text taken from a runner
  // that records it, then prepared and explained on the database.
  let text = '';
  await new JobAttemptsRepository().completeBatch(
    {
      query: async (sql: string) => {
        text = sql;
        return [{ done: null, ready: null, deferred: null }];
      },
    },
    [],
    true,
    null,
  );
  await pg.query(`PREPARE done_batch AS ${text}`);
  // EXECUTE takes no bind parameters: the batch as literals (ids are uuids from the database).
  const args = [
    `'{${rows.map((r) => r.id).join(',')}}'`,
    `array_fill(1, ARRAY[${BATCH}])`,
    `array_fill(1, ARRAY[${BATCH}])`,
    `array_fill('w1'::text, ARRAY[${BATCH}])`,
    `array_fill(NULL::jsonb, ARRAY[${BATCH}])`,
    'true',
    `'${new Date().toISOString()}'`,
    'true',
  ].join(', ');
  try {
    await pg.query('BEGIN');
    // Five runs first: the plan cache's switch to a generic plan, where it makes one.
    for (let i = 0; i < 5; i += 1) {
      await pg.query('SAVEPOINT s');
      await pg.query(`EXECUTE done_batch(${args})`);
      await pg.query('ROLLBACK TO SAVEPOINT s');
    }
    const explained = await pg.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE done_batch(${args})`,
    );
    const done = nodesOf(explained.rows[0]['QUERY PLAN'][0].Plan).find((n) => n['Subplan Name'] === 'CTE done');
    const nodes = nodesOf(done!);
    const updated = nodes.find((n) => n['Node Type'] === 'ModifyTable')!;
    expect(updated['Actual Rows']).toBe(BATCH);
    expect(nodes.map((n) => n['Index Name']).filter(Boolean)).not.toContain('jobs_inflight_idx');
    // It read the batch's jobs, not the in-flight ones, and matched each with its entry once
    // (not the whole batch against every job it read: BATCH² join-filter tests).
    const removed = nodes.reduce(
      (a, n) => a + (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Join Filter'] ?? 0),
      0,
    );
    expect(removed).toBeLessThan(BATCH * 2);
  } finally {
    await pg.query('ROLLBACK');
    await pg.query('DEALLOCATE done_batch');
  }
});
