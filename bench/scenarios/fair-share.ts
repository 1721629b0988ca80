import type { QueryRunner } from 'typeorm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rows as sqlRows } from '../../src/db/sql';
import { parseQuotaPolicy } from '../../src/core/quota-policy';
import { JobDispatchRepository } from '../../src/repositories/job-dispatch.repository';
import { fmt, median, nowMs, p99 } from '../lib/stats';
import { SUBMIT_DAG, waitForDag, type BenchApp, type BenchEnv } from '../lib/env';
import { pick, ratioText, type ResultRow, type Scenario } from '../lib/scenario';

/** Claimed-but-unstarted jobs per tenant (what the limits and the virtual time count). */
const IN_FLIGHT_PER_TENANT = 5;
/** What the dispatcher asks of one claim. */
const CLAIM_LIMIT = 500;
/** An executor no worker hosts: its jobs stay where the setup leaves them. */
const PARKED = 'bench-fair-parked';
const NOOP_CONCURRENCY = 64;

/** The plain priority claim fair share replaced (no tenants, no limits): the baseline. */
const PLAIN_CLAIM = `
UPDATE jobs j SET dispatch = j.dispatch + 1, dispatched_at = now()
  FROM (SELECT id FROM jobs WHERE state IN ('CREATED','RETRY') AND pending_deps = 0 AND dispatched_at IS NULL
          AND (run_after IS NULL OR run_after <= now())
         ORDER BY priority DESC, job_level ASC, id LIMIT $1 FOR UPDATE SKIP LOCKED) c
 WHERE j.id = c.id RETURNING j.id`;

/** `tenants` tenants sharing `backlog` ready jobs of PARKED, IN_FLIGHT_PER_TENANT of each claimed. */
async function park(env: BenchEnv, b: BenchApp, tenants: number, backlog: number): Promise<string[]> {
  const ids: string[] = [];
  const per = Math.ceil(backlog / tenants) + IN_FLIGHT_PER_TENANT;
  for (let i = 0; i < tenants; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, tenants - i) }, async () => {
        const t = await b.tenant();
        const jobs = Array.from({ length: per }, (_, k) => ({ id: `j${k}`, name: 'j', executor: PARKED }));
        const d = await b.gql<{ submitDag: { id: string } }>(SUBMIT_DAG, { input: { name: 'parked', jobs } }, t.key);
        return d.submitDag.id;
      }),
    );
    ids.push(...batch);
  }
  // The api's own kicks claimed some: leave IN_FLIGHT_PER_TENANT of each tenant claimed, the rest ready.
  await new Promise((r) => setTimeout(r, 500));
  await b.app.services.dispatcher.kick();
  await env.pg.query(
    `UPDATE jobs j SET dispatched_at = CASE WHEN r.n <= $2 THEN now() END
       FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS n FROM jobs
              WHERE dag_id = ANY($1::text[])) r WHERE j.id = r.id`,
    [ids, IN_FLIGHT_PER_TENANT],
  );
  await env.pg.query('ANALYZE jobs');
  return ids;
}

/** Latencies (ms) of one statement run `n` times, each in a transaction rolled back (the same backlog each time). */
async function claimCosts(b: BenchApp, n: number, run: (m: QueryRunner) => Promise<unknown>) {
  const qr = b.app.services.ds.createQueryRunner();
  await qr.connect();
  const out: number[] = [];
  try {
    for (let i = 0; i < n + 3; i++) {
      await qr.startTransaction();
      const t0 = nowMs();
      await run(qr);
      if (i >= 3) out.push(nowMs() - t0); // the first three warm the plan and the cache
      await qr.rollbackTransaction();
    }
  } finally {
    await qr.release();
  }
  return out;
}

async function claimRows(env: BenchEnv, samples: number): Promise<{ rows: ResultRow[]; notes: string[] }> {
  // Ready jobs in the claim's view, whatever the number of tenants they are spread over.
  const backlog = pick(env.opts.size, { tiny: 1_000, quick: 5_000, full: 5_000 });
  const b = await env.startApp(['api']);
  const repo = new JobDispatchRepository();
  // Every limit of the claim in play (none binding), so each layer of the statement does its work.
  const policy = parseQuotaPolicy(
    `default: { weight: 1, maxActiveJobs: 100000, maxActiveJobsPerExecutor: { ${PARKED}: 100000 } }\n`,
    'bench',
  );
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  try {
    for (const tenants of [1, 100]) {
      const ids = await park(env, b, tenants, backlog);
      const ours = await claimCosts(b, samples, async (m) => {
        await repo.lockClaims(m);
        const r = await repo.claimReady(m, CLAIM_LIMIT, policy, {
          workerStaleMs: 30_000,
          shallowQueues: false,
          locked: true,
        });
        if (r.claimed.length !== CLAIM_LIMIT) throw new Error(`the fair claim took ${r.claimed.length}`);
      });
      const plain = await claimCosts(b, samples, async (m) => {
        const r = await sqlRows(m, PLAIN_CLAIM, [CLAIM_LIMIT]);
        if (r.length !== CLAIM_LIMIT) throw new Error(`the plain claim took ${r.length}`);
      });
      rows.push({
        metric: `the fair claim of ${CLAIM_LIMIT} jobs from ${backlog.toLocaleString('en')} ready, ${tenants} active tenant${tenants > 1 ? 's' : ''}: p50 / p99 ms`,
        ours: `${fmt(median(ours), 2)} / ${fmt(p99(ours), 2)}`,
        baseline: `${fmt(median(plain), 2)} / ${fmt(p99(plain), 2)}`,
        ratio: ratioText(median(ours), median(plain)),
        target: 'reported',
        verdict: 'info',
      });
      // Out of the next round's view.
      await env.pg.query(`UPDATE jobs SET state = 'CANCELLED' WHERE dag_id = ANY($1::text[])`, [ids]);
      await env.pg.query('ANALYZE jobs');
    }
    notes.push(
      `Claim cost: ${backlog.toLocaleString('en')} ready jobs of an executor no worker hosts, spread over 1 tenant and then over 100 (${IN_FLIGHT_PER_TENANT} more of each tenant claimed and unstarted); ${samples} samples each, every claim in a transaction rolled back so each sees the same backlog. Ours: the claim lock, then FAIR_CLAIM with a policy whose limits all apply (none binding), taking ${CLAIM_LIMIT} jobs (shallow queues off, so every sample claims the full ${CLAIM_LIMIT}). Baseline: the plain priority claim (\`ORDER BY priority, level LIMIT ${CLAIM_LIMIT} FOR UPDATE SKIP LOCKED\`) that fair share replaced.`,
    );
  } finally {
    await b.stop();
  }
  return { rows, notes };
}

/** jobs/s for `tenants` DAGs of `perTenant` noop jobs each, submitted at once, first submit to last completion. */
async function runLoad(env: BenchEnv, extra: Record<string, string>, tenants: number, perTenant: number) {
  const b = await env.startApp(['api', 'scheduler', 'worker'], {
    NOOP_CONCURRENCY: String(NOOP_CONCURRENCY),
    ...extra,
  });
  try {
    const ts = await Promise.all(Array.from({ length: tenants }, () => b.tenant()));
    const jobs = Array.from({ length: perTenant }, (_, k) => ({ id: `j${k}`, name: 'j', executor: 'noop' }));
    const t0 = nowMs();
    const ids = await Promise.all(
      ts.map(async (t) => (await b.gql(SUBMIT_DAG, { input: { name: 'load', jobs } }, t.key)).submitDag.id as string),
    );
    // Statistics that know the new backlog (autovacuum's analyze may come much later on a
    // busy machine; the fair claim's plan depends on them, see the notes).
    await env.pg.query('ANALYZE jobs');
    for (const id of ids) await waitForDag(env.pg, id, 600_000);
    return (tenants * perTenant * 1000) / (nowMs() - t0);
  } finally {
    await b.stop();
  }
}

async function throughputRows(env: BenchEnv): Promise<{ rows: ResultRow[]; notes: string[] }> {
  const tenants = 4;
  const perTenant = pick(env.opts.size, { tiny: 10, quick: 250, full: 1_000 });
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-quotas-'));
  const file = path.join(dir, 'quotas.yaml');
  writeFileSync(file, 'default: { weight: 1 }\n');
  try {
    // Off, on, off, on: a shared machine's drift falls on both alike.
    const off: number[] = [];
    const on: number[] = [];
    for (let round = 0; round < 2; round++) {
      off.push(await runLoad(env, {}, tenants, perTenant));
      on.push(await runLoad(env, { QUOTAS_FILE: file }, tenants, perTenant));
    }
    const mean = (v: number[]) => v.reduce((a, x) => a + x, 0) / v.length;
    const [rOff, rOn] = [mean(off), mean(on)];
    return {
      rows: [
        {
          metric: `jobs/s, ${tenants} tenants × ${perTenant.toLocaleString('en')} \`noop\` jobs at once, quotas on vs off`,
          ours: fmt(rOn, 0),
          baseline: fmt(rOff, 0),
          ratio: ratioText(rOn, rOff),
          target: 'reported',
          verdict: 'info',
        },
      ],
      notes: [
        `Throughput: ${tenants} tenants each submit one DAG of ${perTenant.toLocaleString('en')} independent \`noop\` jobs at once to the in-process api, scheduler and worker roles (noop concurrency ${NOOP_CONCURRENCY}); jobs/s from the first submission to the last DAG completed, the mean of two runs each, alternating off and on (${off.map((x) => fmt(x, 0)).join(', ')} off; ${on.map((x) => fmt(x, 0)).join(', ')} on). Quotas on: \`QUOTAS_FILE\` with only \`default: { weight: 1 }\`, so every claim is the serialised fair claim with shallow queues (at most twice the live workers' slots of unstarted dispatches per executor) and every completion kicks a claim; off: unlocked claims, deep queues.`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const fairShare: Scenario = {
  name: 'fair-share',
  ours: 'the fair claim (weighted round-robin over tenants, every limit checked in the statement) and a run with `QUOTAS_FILE` set',
  baseline: 'the plain priority claim it replaced, and the same run without `QUOTAS_FILE`',
  anchor:
    'issue 20 asks for the claim statement’s cost with 1 and 100 active tenants and the throughput with quotas on against off; BullMQ Pro groups and Hatchet’s fair queues are the outside comparisons',
  async run(env) {
    const samples = pick(env.opts.size, { tiny: 5, quick: 30, full: 100 });
    const claim = await claimRows(env, samples);
    const load = await throughputRows(env);
    return { rows: [...claim.rows, ...load.rows], notes: [...claim.notes, ...load.notes] };
  },
};
