import { expect, it } from 'vitest';
import { JobDispatchRepository } from '../src/repositories/job-dispatch.repository';
import { submitDag } from './support/dag-helpers';
import { nodesOf, planDatabase, type PlanNode } from './support/plan-database';

/**
 * The fair claim counts an executor's unstarted dispatches (its queue's room) and a rate
 * limit's recent starts once per executor, not once per candidate. Inlined, those counts ran
 * as subplans for each of the claim's candidates (2,000 here: 4 tenants' first 500), which
 * made a claim under QUOTAS_FILE 50-60 ms instead of ~20 and held a burst of short jobs to
 * 0.38x the rate without quotas (BENCHMARKS.md, fair-share).
 */
const setup = planDatabase();
const TENANTS = 4;
const PER_TENANT = 1_000;
const SLOTS = 64;

it('a fair claim counts each executor’s queue and rate window once, not once per candidate', async () => {
  const { app: t, pg } = setup;
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const jobs = Array.from({ length: PER_TENANT }, (_, i) => ({
    id: `j${i}`,
    name: 'noop',
    executor: 'noop',
    startAfter: later,
  }));
  for (let i = 0; i < TENANTS; i += 1) {
    const { key } = await t.tenant('submitter');
    await submitDag(t, key, { name: 'burst', jobs });
  }
  await t.app.services.jobCommands.settled();
  // Ready now (behind the app's back: no claim runs), a worker with SLOTS slots, SLOTS of
  // the jobs claimed and unstarted: the queue has room for SLOTS more.
  await pg.query(`UPDATE jobs SET run_after = NULL`);
  await pg.query(
    `UPDATE jobs SET dispatched_at = now(), dispatch = 1 WHERE id IN (SELECT id FROM jobs ORDER BY id LIMIT $1)`,
    [SLOTS],
  );
  await pg.query(
    `INSERT INTO workers (id, hostname, executor_slots, started_at, last_seen_at)
     VALUES ('w1', 'h', jsonb_build_object('noop', jsonb_build_object('concurrency', $1::int)), now(), now())`,
    [SLOTS],
  );
  await pg.query('ANALYZE');

  // The claim as the repository writes it (text and parameters recorded), under a policy
  // whose rate limit applies to every candidate without binding.
  let text = '';
  let params: unknown[] = [];
  const policy = { default: { weight: 1, rateLimits: { noop: { jobs: 1_000_000, perSeconds: 60 } } } };
  await new JobDispatchRepository().claimReady(
    {
      query: async (sql: string, p?: unknown[]) => {
        text = sql;
        params = p ?? [];
        return [];
      },
    },
    500,
    policy,
    { workerStaleMs: 60_000, shallowQueues: true, locked: true },
  );
  try {
    await pg.query('BEGIN');
    const explained = await pg.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
      params,
    );
    const nodes = nodesOf(explained.rows[0]['QUERY PLAN'][0].Plan);
    const claimed = nodes.find((n) => n['Node Type'] === 'ModifyTable')!;
    expect(claimed['Actual Rows']).toBe(SLOTS); // the queue's room, no more
    // Candidates: TENANTS × 500. No step of the plan runs once per candidate: the most any
    // node runs is once per tenant, or once per claimed job.
    expect(Math.max(...nodes.map((n) => n['Actual Loops']))).toBeLessThanOrEqual(SLOTS);
  } finally {
    await pg.query('ROLLBACK');
  }
});
