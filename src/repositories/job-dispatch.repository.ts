import { rows as sqlRows, type SqlRunner } from '../db/sql';

/** A claimed dispatch, as a claim's RETURNING gives it. */
export interface ClaimedDispatch {
  id: string;
  tenantId: string;
  tryNumber: number;
  dispatch: number;
  executor: string;
  requiresGpu: boolean;
  priority: number;
  jobLevel: number;
}

/** A dispatch that may sit in a BullMQ queue: enough to name its queue and BullMQ job. */
export interface QueuedDispatch {
  jobId: string;
  tryNumber: number;
  dispatch: number;
  executor: string;
  requiresGpu: boolean;
}

/** The RETURNING list of a claim (`j.` columns). */
const CLAIMED_COLUMNS = `j.id, j.tenant_id, j.try_number, j.dispatch, j.executor, j.requires_gpu, j.priority, j.job_level`;

export interface ClaimedRow {
  id: string;
  tenant_id: string;
  try_number: number;
  dispatch: number;
  executor: string;
  requires_gpu: boolean;
  priority: number;
  job_level: number;
}

export const claimedOf = (r: ClaimedRow): ClaimedDispatch => ({
  id: r.id,
  tenantId: r.tenant_id,
  tryNumber: r.try_number,
  dispatch: r.dispatch,
  executor: r.executor,
  requiresGpu: r.requires_gpu,
  priority: r.priority,
  jobLevel: r.job_level,
});

/** The advisory lock key that serialises fair claims ("fair" in ASCII). */
const CLAIM_LOCK = 0x66616972;

const READY = `state IN ('CREATED','RETRY') AND pending_deps = 0 AND dispatched_at IS NULL
  AND (run_after IS NULL OR run_after <= now())`;
const ORDER = `priority DESC, job_level ASC, id`;
const ORDER_FAIR = `priority DESC, job_level ASC, tenant_id, id`;
/** Dispatches an executor's queue may hold unstarted: twice its live workers' slots, at least this. */
const MIN_DEPTH = 16;

/**
 * The fair claim, one statement. Candidates: each tenant with ready jobs (its policy entry
 * by slug, else `default`), its first $1 ready jobs by priority then level. In-flight
 * (ACTIVE, or claimed and not started) jobs are counted per tenant, executor and key; for a
 * rate-limited (tenant, executor), the starts of the window (jobs.attempt_started_at) plus
 * its claimed-but-unstarted jobs, so the starts of any window never exceed the limit (a
 * job retried within one window counts once: its latest start). Limits filter in layers (key, then
 * per executor and rate, then per tenant), each ranking only what the layer before let
 * through, so a claim never takes a job past a limit. What is left is ordered by virtual
 * time (in-flight + rank - 1/2) / weight (Webster's divisors, so shares stay closest to the
 * weights): weighted round-robin over tenants, the in-flight count
 * carrying each tenant's deficit from one claim to the next. With $4 (shallow queues, fair
 * share on) an executor's queue takes at most twice its live workers' slots (at least
 * MIN_DEPTH) of unstarted dispatches, so the order of starts is decided here, not by a
 * BullMQ backlog. Jobs with a concurrency key are claimed only with $5 (the claim lock held:
 * their limit holds across schedulers whether or not QUOTAS_FILE is set); the last row
 * says whether the candidates held any (`keyed`; a row with a null id when none was claimed).
 * `depth` is MATERIALIZED: inlined into `pick`, its counts ran once per candidate, not per
 * executor (test/fair-claim-plan.test.ts).
 */
const FAIR_CLAIM = `
WITH tp AS (
  SELECT r.tenant_id, coalesce($2::jsonb->'tenants'->t.slug, $2::jsonb->'default') AS e
    FROM (SELECT DISTINCT tenant_id FROM jobs WHERE ${READY}) r JOIN tenants t ON t.id = r.tenant_id),
cand AS (
  SELECT c.*, tp.e FROM tp CROSS JOIN LATERAL (
    SELECT id, tenant_id, executor, concurrency_key, concurrency_limit, priority, job_level FROM jobs
     WHERE tenant_id = tp.tenant_id AND ${READY} ORDER BY ${ORDER} LIMIT $1) c),
act AS (
  SELECT tenant_id, executor, concurrency_key, count(*)::int AS n FROM jobs
   WHERE tenant_id IN (SELECT tenant_id FROM tp)
     AND (state = 'ACTIVE' OR (state IN ('CREATED','RETRY') AND dispatched_at IS NOT NULL))
   GROUP BY 1, 2, 3),
act_t AS (SELECT tenant_id, sum(n)::int AS n FROM act GROUP BY 1),
act_e AS (SELECT tenant_id, executor, sum(n)::int AS n FROM act GROUP BY 1, 2),
act_k AS (SELECT tenant_id, concurrency_key, sum(n)::int AS n FROM act WHERE concurrency_key IS NOT NULL GROUP BY 1, 2),
rl AS (
  SELECT x.tenant_id, x.executor, x.r,
    (SELECT count(*)::int FROM jobs s WHERE s.tenant_id = x.tenant_id AND s.executor = x.executor
       AND s.attempt_started_at > now() - make_interval(secs => (x.r->>'perSeconds')::float8))
    + (SELECT count(*)::int FROM jobs q WHERE q.tenant_id = x.tenant_id AND q.executor = x.executor
       AND q.state IN ('CREATED','RETRY') AND q.dispatched_at IS NOT NULL) AS n
    FROM (SELECT DISTINCT tenant_id, executor, e->'rateLimits'->executor AS r FROM cand
           WHERE e->'rateLimits' ? executor) x),
k1 AS (
  SELECT c.* FROM (
    SELECT c.*, row_number() OVER (PARTITION BY c.tenant_id, c.concurrency_key ORDER BY ${ORDER}) AS rk FROM cand c) c
    LEFT JOIN act_k a ON a.tenant_id = c.tenant_id AND a.concurrency_key = c.concurrency_key
   WHERE c.concurrency_key IS NULL OR ($5::boolean AND coalesce(a.n, 0) + c.rk <= c.concurrency_limit)),
k2 AS (
  SELECT c.* FROM (
    SELECT k1.*, row_number() OVER (PARTITION BY tenant_id, executor ORDER BY ${ORDER}) AS re FROM k1) c
    LEFT JOIN act_e a ON a.tenant_id = c.tenant_id AND a.executor = c.executor
    LEFT JOIN rl ON rl.tenant_id = c.tenant_id AND rl.executor = c.executor
   WHERE (c.e->'maxActiveJobsPerExecutor'->>c.executor IS NULL
          OR coalesce(a.n, 0) + c.re <= (c.e->'maxActiveJobsPerExecutor'->>c.executor)::int)
     AND (rl.r IS NULL OR rl.n + c.re <= (rl.r->>'jobs')::int)),
k3 AS (
  SELECT c.*, coalesce(a.n, 0) AS inflight FROM (
    SELECT k2.*, row_number() OVER (PARTITION BY tenant_id ORDER BY ${ORDER}) AS rt FROM k2) c
    LEFT JOIN act_t a ON a.tenant_id = c.tenant_id
   WHERE c.e->>'maxActiveJobs' IS NULL OR coalesce(a.n, 0) + c.rt <= (c.e->>'maxActiveJobs')::int),
k4 AS (
  SELECT k3.*, (inflight + rt - 0.5)::float8 / coalesce((e->>'weight')::float8, 1) AS vt FROM k3),
execs AS (SELECT DISTINCT executor FROM k4),
depth AS MATERIALIZED (
  SELECT x.executor,
    greatest(${MIN_DEPTH}, 2 * coalesce((SELECT sum((w.executor_slots->x.executor->>'concurrency')::int) FROM workers w
      WHERE w.last_seen_at > now() - make_interval(secs => $3::float8 / 1000)), 0))::int
    - (SELECT count(*)::int FROM jobs q WHERE q.executor = x.executor
        AND q.state IN ('CREATED','RETRY') AND q.dispatched_at IS NOT NULL) AS free
    FROM execs x),
pick AS (
  SELECT c.id, c.vt, c.priority, c.job_level, c.tenant_id FROM (
    SELECT k4.*, row_number() OVER (PARTITION BY executor ORDER BY vt, ${ORDER_FAIR}) AS rx FROM k4) c
    JOIN depth d ON d.executor = c.executor
   WHERE NOT $4::boolean OR c.rx <= d.free
   ORDER BY c.vt, ${ORDER_FAIR} LIMIT $1),
claimed AS (
  UPDATE jobs j SET dispatch = j.dispatch + 1, dispatched_at = now()
    FROM pick WHERE j.id = pick.id AND j.state IN ('CREATED','RETRY') AND j.dispatched_at IS NULL
  RETURNING ${CLAIMED_COLUMNS})
SELECT c.*, k.keyed FROM (SELECT EXISTS (SELECT 1 FROM cand WHERE concurrency_key IS NOT NULL) AS keyed) k
  LEFT JOIN claimed c ON true`;

/** A claim's outcome: what it claimed, and whether its candidates held jobs with a concurrency key. */
export interface ClaimResult {
  claimed: ClaimedDispatch[];
  keyed: boolean;
}

/**
 * The dispatcher's SQL on `jobs`: a claim bumps the job's dispatch number in one UPDATE
 * guarded by `dispatched_at IS NULL`, so each dispatch is enqueued once whichever process
 * claims it.
 */
export class JobDispatchRepository {
  /**
   * Claim ready jobs (every dependency COMPLETED, due) under the fair-share policy
   * (`policy`: the QuotaPolicy as JSON, tenants by slug). See FAIR_CLAIM. With `locked`
   * (the caller holds `lockClaims` in this transaction) jobs with a concurrency key may be
   * claimed too; without, they are left for a locked claim (`keyed` says there were some).
   */
  async claimReady(
    m: SqlRunner,
    limit: number,
    policy: unknown,
    opts: { workerStaleMs: number; shallowQueues: boolean; locked: boolean },
  ): Promise<ClaimResult> {
    const rows: Array<ClaimedRow & { keyed: boolean }> = await sqlRows(m, FAIR_CLAIM, [
      limit,
      JSON.stringify(policy),
      opts.workerStaleMs,
      opts.shallowQueues,
      opts.locked,
    ]);
    return { claimed: rows.filter((r) => r.id !== null).map(claimedOf), keyed: rows[0]?.keyed ?? false };
  }

  /** Take the claim lock of this transaction: claims (and their limit checks) run one at a time. */
  async lockClaims(m: SqlRunner): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(${CLAIM_LOCK})`);
  }

  /** Claims that could not be enqueued: claimable again rather than lost. */
  async unclaim(m: SqlRunner, jobIds: string[]): Promise<void> {
    await m.query(`UPDATE jobs SET dispatched_at = NULL WHERE id = ANY($1::uuid[]) AND state IN ('CREATED','RETRY')`, [
      jobIds,
    ]);
  }

  /** Dispatched jobs not started within `staleMs`: touched, to be checked against their queue. */
  async touchStale(m: SqlRunner, staleMs: number, limit: number): Promise<ClaimedDispatch[]> {
    const rows: ClaimedRow[] = await sqlRows(
      m,
      `UPDATE jobs j SET dispatched_at = now()
       FROM (SELECT id FROM jobs WHERE state IN ('CREATED','RETRY') AND dispatched_at < now() - make_interval(secs => $1::double precision / 1000)
             LIMIT $2 FOR UPDATE SKIP LOCKED) c
       WHERE j.id = c.id
       RETURNING ${CLAIMED_COLUMNS}`,
      [staleMs, limit],
    );
    return rows.map(claimedOf);
  }

  /** A new dispatch number for dispatches Redis lost: whatever is left of the old one is refused at start. */
  async redispatch(m: SqlRunner, jobIds: string[]): Promise<ClaimedDispatch[]> {
    const rows: ClaimedRow[] = await sqlRows(
      m,
      `UPDATE jobs SET dispatch = dispatch + 1, dispatched_at = now()
       WHERE id = ANY($1::uuid[]) AND state IN ('CREATED','RETRY') AND dispatched_at IS NOT NULL
       RETURNING id, tenant_id, try_number, dispatch, executor, requires_gpu, priority, job_level`,
      [jobIds],
    );
    return rows.map(claimedOf);
  }
}
