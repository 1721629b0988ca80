import { prepared, type SqlRunner } from '../db/sql';
import type { JobState } from '../core/states';
import { DELTA_JOIN } from './dag-progress.repository';
import { EVENTS_CHANNEL } from './event-log.repository';
import { claimedOf, type ClaimedDispatch, type ClaimedRow } from './job-dispatch.repository';
import { leaseHeld } from './job-leases.repository';
import { jobRefOf, type AttemptRef, type JobRef } from './jobs.repository';

/** A completion to store: the attempt and its output (JSON text, or null). */
export interface CompletionInput {
  ref: AttemptRef;
  outputJson: string | null;
}

/** A job a completion's batch counted down. */
export interface CountedDown {
  id: string;
  tenantId: string;
  dagId: string;
  pendingDeps: number;
  state: JobState;
}

/** What one batch of completions did. */
export interface CompletedBatch {
  /**
   * `keyed`: the job had a concurrency key (its completion frees a slot of that key);
   * `slaDue`: it ended past an unmarked SLA deadline (to be marked with its event).
   */
  done: Array<JobRef & { dispatch: number; keyed: boolean; slaDue: boolean }>;
  counted: CountedDown[];
  claimed: ClaimedDispatch[];
  /** `solo`: the jobs left alone because they end past an unmarked SLA deadline (marked in a transaction). */
  deferred: string[];
}

/** A job ending now past a deadline not marked yet: its SLA mark and event go with its transition. */
const SLA_DUE = `COALESCE((j.soft_sla < now() AND j.sla_soft_missed_at IS NULL)
               OR (j.hard_sla < now() AND j.sla_hard_missed_at IS NULL), false)`;

/** A job a batch of starts took. */
export interface StartedRow extends JobRef {
  executor: string;
  data: unknown;
  partitionKey: string | null;
  prev: JobState;
  dispatch: number;
  dagName: string;
  upstream: string[];
  cache: { enabled: boolean; ttlSeconds: number | null; key: string | null };
}

type DoneRow = { id: string; tenant_id: string; dag_id: string; task_id: string; name: string; try_number: number };

/** The group-committed statements of the attempt lifecycle: a batch of starts, a batch of completions. */
export class JobAttemptsRepository {
  /**
   * One statement: the guarded completions, their attempt rows, and the dependents
   * counted down (by how many of their dependencies completed here) and claimed when they
   * reach zero and are due. Row locks on the dependents serialise concurrent parents:
   * exactly one transaction sees zero and claims the child. The dependents are locked in
   * id order (concurrent batches sharing several children wait, never deadlock), and the
   * caller runs this statement last but for the events, so a fan-in's sink row is held
   * only for the rest of the transaction and its commit. The same statement writes each
   * DAG's counter deltas and its JOB events (stamped `at`; none when null: the caller
   * writes its own transitions) and wakes the relay. Prepared:
   * planned once per connection. `solo` (a statement of its own, no transaction round it):
   * a job ending past an unmarked SLA deadline is left alone and comes back in `deferred`
   * (its mark and SLA event go with its transition, in the caller's transaction).
   */
  async completeBatch(
    m: SqlRunner,
    items: CompletionInput[],
    directClaims: boolean,
    at: string | null,
    solo = false,
  ): Promise<CompletedBatch> {
    // Under fair-share limits (or a concurrency key) the dispatcher's fair claim takes them instead.
    const claimable = `$6::boolean AND j.concurrency_key IS NULL
        AND j.pending_deps - c.n = 0 AND j.state IN ('CREATED','RETRY') AND j.dispatched_at IS NULL
        AND (j.run_after IS NULL OR j.run_after <= now())`;
    const [out] = await prepared<{
      done: Array<DoneRow & { dispatch: number; keyed: boolean; sla_due: boolean }> | null;
      ready: Array<ClaimedRow & { dag_id: string; pending_deps: number; state: JobState; claimed: boolean }> | null;
      deferred: string[] | null;
    }>(
      m,
      'jobs_complete_batch',
      `WITH r AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::jsonb[])
                    AS r(id, try_number, dispatch, worker_id, output)),
       -- Each job is found by its entry (j.id = r.id, the primary key per entry): an
       -- id = ANY(ids) beside it let the planner read the batch's jobs first and test every
       -- job against every entry (test/lease-plan.test.ts).
       done AS (
         UPDATE jobs j SET state = 'COMPLETED', output = r.output, completed_at = now(), lease_owner = NULL,
             lease_expires_at = NULL, progress_percent = 100, dispatched_at = NULL
           FROM r WHERE ${leaseHeld('r.id', 'r.try_number', 'r.dispatch', 'r.worker_id', { alias: 'j' })}
             AND NOT ($8::boolean AND ${SLA_DUE})
           RETURNING j.id, j.tenant_id, j.dag_id, j.task_id, j.name, j.try_number, j.dispatch, j.executor,
             CASE WHEN j.cache_enabled THEN j.cache_key END AS cache_key, j.cache_code_version,
             j.concurrency_key IS NOT NULL AS keyed, ${SLA_DUE} AS sla_due),
       closed AS (
         -- The cache key is stored on SUCCEEDED attempts only, with how many materializations
         -- the attempt recorded (a hit needs them all still there).
         UPDATE job_attempts a SET outcome = 'SUCCEEDED', finished_at = now(), error = NULL,
             cache_key = done.cache_key, cache_tenant_id = CASE WHEN done.cache_key IS NOT NULL THEN done.tenant_id END,
             cache_executor = CASE WHEN done.cache_key IS NOT NULL THEN done.executor END,
             cache_code_version = CASE WHEN done.cache_key IS NOT NULL THEN done.cache_code_version END,
             cache_materializations = CASE WHEN done.cache_key IS NOT NULL THEN
               (SELECT count(*)::int FROM materializations mt WHERE mt.tenant_id = done.tenant_id
                  AND mt.dag_id = done.dag_id AND mt.node_task_id = done.task_id AND mt.try_number = done.try_number) END
           FROM done WHERE a.job_id = done.id AND a.try_number = done.try_number AND a.dispatch = done.dispatch
             AND a.outcome = 'RUNNING'),
       c0 AS (SELECT jd.job_id, count(*)::int AS n FROM job_dependencies jd JOIN done ON jd.depends_on = done.id
              GROUP BY jd.job_id),
       c AS (SELECT c0.* FROM c0 JOIN (SELECT id FROM jobs WHERE id IN (SELECT job_id FROM c0) ORDER BY id FOR UPDATE) l
               ON l.id = c0.job_id),
       ready AS (
         UPDATE jobs j SET pending_deps = j.pending_deps - c.n,
           dispatch = CASE WHEN ${claimable} THEN j.dispatch + 1 ELSE j.dispatch END,
           dispatched_at = CASE WHEN ${claimable} THEN now() ELSE j.dispatched_at END
         FROM c WHERE j.id = c.job_id
         RETURNING j.id, j.pending_deps, j.state, j.tenant_id, j.dag_id, j.try_number, j.dispatch, j.executor, j.requires_gpu,
           j.priority, j.job_level, (j.pending_deps = 0 AND j.state IN ('CREATED','RETRY') AND j.dispatched_at = now()) AS claimed),
       -- Each DAG's counter deltas and its JOB events (one row a DAG, as appendEvents
       -- coalesces them; the payload of DagTransitions' jobEvent, its time given): no statement of their own.
       -- The two branches' aggregates are the same expression: PostgreSQL computes it once.
       dd AS (
         INSERT INTO dag_progress_deltas (tenant_id, dag_id, d_pending, d_active, d_completed, d_failed, d_skipped, d_cached, saved_seconds)
         SELECT tenant_id, dag_id, 0, -count(*), count(*), 0, 0, 0, 0 FROM done WHERE $7::text IS NOT NULL
          GROUP BY tenant_id, dag_id),
       ev AS (
         INSERT INTO event_log (tenant_id, type, dag_id, payload, n_events)
         SELECT tenant_id, 'JOB', dag_id, CASE WHEN count(*) = 1 THEN jsonb_agg(p ORDER BY id) -> 0 ELSE jsonb_agg(p ORDER BY id) END,
             count(*)
           FROM (SELECT tenant_id, dag_id, id, jsonb_build_object('dagId', dag_id, 'jobId', id, 'taskId', task_id,
                   'name', name, 'state', 'COMPLETED', 'previousState', 'ACTIVE', 'tryNumber', try_number, 'error', NULL,
                   'progressPercent', 100, 'at', $7::text) AS p FROM done WHERE $7::text IS NOT NULL) e
          GROUP BY tenant_id, dag_id ORDER BY tenant_id, dag_id
         RETURNING 1)
       SELECT (SELECT json_agg(done) FROM done) AS done, (SELECT json_agg(ready) FROM ready) AS ready,
         (SELECT json_agg(j.id) FROM jobs j WHERE $8::boolean AND j.id = ANY($1::uuid[]) AND ${SLA_DUE}) AS deferred,
         (SELECT pg_notify('${EVENTS_CHANNEL}', n::text) FROM (SELECT count(*) AS n FROM ev) c WHERE n > 0) AS notified`,
      [
        items.map((r) => r.ref.jobId),
        items.map((r) => r.ref.tryNumber),
        items.map((r) => r.ref.dispatch),
        items.map((r) => r.ref.workerId),
        items.map((r) => r.outputJson),
        directClaims,
        at,
        solo,
      ],
    );
    const ready = out?.ready ?? [];
    return {
      done: (out?.done ?? []).map((r) => ({ ...jobRefOf(r), dispatch: r.dispatch, keyed: r.keyed, slaDue: r.sla_due })),
      counted: ready.map((r) => ({
        id: r.id,
        tenantId: r.tenant_id,
        dagId: r.dag_id,
        pendingDeps: r.pending_deps,
        state: r.state,
      })),
      claimed: ready.filter((x) => x.claimed).map(claimedOf),
      deferred: out?.deferred ?? [],
    };
  }

  /**
   * One statement (prepared), whole on its own: the guarded starts (each under its worker's
   * lease), their attempt rows, each DAG's counter deltas and its JOB events (stamped `at`),
   * and the move to ACTIVE of a DAG still CREATED, with its DAG event (its progress: the
   * row, the deltas committed before, and this statement's own); it wakes the relay.
   * A concurrent statement that starts a job of the same CREATED DAG waits for this one's
   * lock on the DAG row, then finds it ACTIVE and writes no DAG event.
   */
  async startBatch(m: SqlRunner, refs: AttemptRef[], leaseMs: number, at: string): Promise<StartedRow[]> {
    const rows: Array<
      DoneRow & {
        executor: string;
        data: unknown;
        partition_key: string | null;
        prev: JobState;
        dispatch: number;
        dag_name: string;
        upstream: string[] | null;
        cache_enabled: boolean;
        cache_ttl_seconds: number | null;
        cache_given_key: string | null;
      }
    > = await prepared(
      m,
      'jobs_start_batch',
      `WITH r AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[]) AS r(id, try_number, dispatch, worker_id)),
       prev AS (SELECT j.id, j.state, r.worker_id FROM jobs j
                  JOIN r ON j.id = r.id AND j.try_number = r.try_number AND j.dispatch = r.dispatch
                 WHERE j.id = ANY($1::uuid[]) AND j.state IN ('CREATED','RETRY') ORDER BY j.id FOR UPDATE OF j),
       s AS (
         UPDATE jobs j SET state = 'ACTIVE', lease_owner = prev.worker_id,
           lease_expires_at = now() + make_interval(secs => $5::double precision / 1000),
           attempt_started_at = now(), started_at = COALESCE(j.started_at, now()),
           progress_percent = NULL, progress_message = NULL, error = NULL
         FROM prev WHERE j.id = prev.id
         RETURNING j.id, j.tenant_id, j.dag_id, j.task_id, j.name, j.executor, j.data, j.partition_key, prev.state AS prev,
           j.try_number, j.dispatch, j.lease_owner, j.cache_enabled, j.cache_ttl_seconds, j.cache_given_key,
           (SELECT array_agg(p.task_id) FROM job_dependencies jd JOIN jobs p ON p.id = jd.depends_on
             WHERE jd.job_id = j.id) AS upstream),
       a AS (INSERT INTO job_attempts (job_id, try_number, dispatch, outcome, worker_id)
             SELECT id, try_number, dispatch, 'RUNNING', lease_owner FROM s),
       own AS (SELECT tenant_id, dag_id, count(*)::int AS k FROM s GROUP BY tenant_id, dag_id),
       dd AS (
         INSERT INTO dag_progress_deltas (tenant_id, dag_id, d_pending, d_active, d_completed, d_failed, d_skipped, d_cached, saved_seconds)
         SELECT tenant_id, dag_id, -k, k, 0, 0, 0, 0, 0 FROM own),
       act AS (
         UPDATE dags d SET state = 'ACTIVE', started_at = COALESCE(d.started_at, now())
           FROM own WHERE d.tenant_id = own.tenant_id AND d.id = own.dag_id AND d.state = 'CREATED'
           RETURNING d.tenant_id, d.id, d.name, d.n_total, d.n_pending, d.n_active, d.n_completed, d.n_failed,
             d.n_skipped, d.n_cached, own.k),
       -- The DAG event of an activation: DagTransitions' progressOf (percent as Math.round does it).
       counted AS (
         SELECT d.tenant_id, d.id, d.name, d.n_total AS total,
           d.n_pending + COALESCE(x.dp_pending, 0) - d.k AS pending, d.n_active + COALESCE(x.dp_active, 0) + d.k AS active,
           d.n_completed + COALESCE(x.dp_completed, 0) AS completed, d.n_failed + COALESCE(x.dp_failed, 0) AS failed,
           d.n_skipped + COALESCE(x.dp_skipped, 0) AS skipped, COALESCE(d.n_cached, 0) + COALESCE(x.dp_cached, 0) AS cached
           FROM act d ${DELTA_JOIN}),
       ev AS (
         INSERT INTO event_log (tenant_id, type, dag_id, payload, n_events)
         SELECT tenant_id, type, dag_id, payload, n FROM (
           SELECT tenant_id, dag_id, 'JOB' AS type, 0 AS o,
               CASE WHEN count(*) = 1 THEN jsonb_agg(p ORDER BY id) -> 0 ELSE jsonb_agg(p ORDER BY id) END AS payload,
               count(*)::int AS n
             FROM (SELECT tenant_id, dag_id, id, jsonb_build_object('dagId', dag_id, 'jobId', id, 'taskId', task_id,
                     'name', name, 'state', 'ACTIVE', 'previousState', prev, 'tryNumber', try_number, 'error', NULL,
                     'progressPercent', NULL, 'at', $6::text) AS p FROM s) e
            GROUP BY tenant_id, dag_id
           UNION ALL
           SELECT tenant_id, id, 'DAG', 1, jsonb_build_object('dagId', id, 'name', name, 'state', 'ACTIVE',
               'previousState', 'CREATED', 'at', $6::text, 'progress', jsonb_build_object('total', total,
                 'pending', pending, 'active', active, 'completed', completed, 'failed', failed, 'skipped', skipped,
                 'cached', cached, 'percent', CASE WHEN total = 0 THEN 100
                   ELSE floor((completed + failed + skipped)::float8 / total * 10000 + 0.5) / 100 END)), 1
             FROM counted) u
          ORDER BY tenant_id, dag_id, o
         RETURNING 1)
       -- The relay is woken once (an uncorrelated subquery: evaluated once, when there is a row at all).
       SELECT s.*, d.name AS dag_name,
         (SELECT pg_notify('${EVENTS_CHANNEL}', n::text) FROM (SELECT count(*) AS n FROM ev) c WHERE n > 0) AS notified
         FROM s JOIN dags d ON d.tenant_id = s.tenant_id AND d.id = s.dag_id`,
      [
        refs.map((r) => r.jobId),
        refs.map((r) => r.tryNumber),
        refs.map((r) => r.dispatch),
        refs.map((r) => r.workerId),
        leaseMs,
        at,
      ],
    );
    return rows.map((r) => ({
      ...jobRefOf(r),
      executor: r.executor,
      data: r.data,
      partitionKey: r.partition_key,
      prev: r.prev,
      dispatch: r.dispatch,
      dagName: r.dag_name,
      upstream: r.upstream ?? [],
      cache: { enabled: r.cache_enabled, ttlSeconds: r.cache_ttl_seconds, key: r.cache_given_key },
    }));
  }
}
