import { rows as sqlRows } from '../db/sql';
import type { DataSource, EntityManager } from 'typeorm';
import type { AppConfig } from '../config/config';
import { FAILED_JOB_STATES, TERMINAL_JOB_STATES, type DagState, type JobState } from '../core/states';
import { conflict, notFound } from '../errors/domain-error';
import { appendEvents, type NewEvent } from '../events/event-log';
import type { RedisBus } from '../events/bus';
import type { ClaimedDispatch, QueuedDispatch } from '../jobs/dispatcher';
import { LIMITS } from './dag-validation';
import { GroupCommit, type Settled } from '../db/group-commit';
import { marksAtEnd, slaDueColumns, slaEventOf, sweepSoftMisses, type SlaDue } from './sla-marks';

/** What a transition needs to know of the job it changed. */
interface JobRefRow {
  id: string;
  tenant_id: string;
  dag_id: string;
  task_id: string;
  name: string;
  try_number: number;
}

/** A dependent counted down by a batch of completions. */
type ReadyRow = ClaimedDispatch & { pending_deps: number; state: JobState; claimed: boolean };

/** What a start's UPDATE returns (one job or a batch). */
interface StartRow extends JobRefRow {
  executor: string;
  data: unknown;
  partition_key: string | null;
  prev: JobState;
  dispatch: number;
  dag_name: string;
  upstream: string[] | null;
}

const startTransition = (r: StartRow): Transition => ({
  jobId: r.id,
  taskId: r.task_id,
  name: r.name,
  from: r.prev,
  to: 'ACTIVE',
  tryNumber: r.try_number,
});

const completeTransition = (r: JobRefRow): Transition => ({
  jobId: r.id,
  taskId: r.task_id,
  name: r.name,
  from: 'ACTIVE',
  to: 'COMPLETED',
  tryNumber: r.try_number,
  progressPercent: 100,
});

const startedOf = (r: StartRow): StartedAttempt => ({
  jobId: r.id,
  tenantId: r.tenant_id,
  dagId: r.dag_id,
  dagName: r.dag_name,
  taskId: r.task_id,
  name: r.name,
  executor: r.executor,
  tryNumber: r.try_number,
  dispatch: r.dispatch,
  data: r.data,
  partitionKey: r.partition_key,
  isRerun: r.try_number > 1 || r.dispatch > 1,
  upstreamTaskIds: r.upstream ?? [],
});

/** What a completion reports: whether it counted, and (on one completion per batch) what became ready. */
export interface Completion {
  accepted: boolean;
  readyJobIds: string[];
  claimed: ClaimedDispatch[];
}

type BatchItem = { kind: 'start'; ref: AttemptRef } | { kind: 'complete'; ref: AttemptRef; outputJson: string | null };
type BatchResult = StartedAttempt | null | Completion;

export interface DagProgressView {
  total: number;
  pending: number;
  active: number;
  completed: number;
  failed: number;
  skipped: number;
  percent: number;
}

export interface Transition {
  jobId: string;
  taskId: string;
  name: string;
  from: JobState;
  to: JobState;
  tryNumber: number;
  error?: string | null;
  progressPercent?: number | null;
  /** A cancelled job's dispatch that may still sit in its BullMQ queue. */
  queued?: QueuedDispatch;
}

const queuedOf = (ts: Transition[]): QueuedDispatch[] => ts.flatMap((t) => (t.queued ? [t.queued] : []));

/** Identifies one attempt of one try: what a worker holds while it runs a job. */
export interface AttemptRef {
  jobId: string;
  tryNumber: number;
  dispatch: number;
  workerId: string;
}

export interface StartedAttempt {
  jobId: string;
  tenantId: string;
  dagId: string;
  dagName: string;
  taskId: string;
  name: string;
  executor: string;
  tryNumber: number;
  dispatch: number;
  data: unknown;
  partitionKey: string | null;
  /** A rerun of an earlier try or dispatch: the task's earlier state must be cleared first. */
  isRerun: boolean;
  upstreamTaskIds: string[];
}

const bucket = (s: JobState): 'pending' | 'active' | 'completed' | 'failed' | 'skipped' =>
  s === 'CREATED' || s === 'RETRY'
    ? 'pending'
    : s === 'ACTIVE'
      ? 'active'
      : s === 'COMPLETED'
        ? 'completed'
        : s === 'SKIPPED'
          ? 'skipped'
          : 'failed';

interface DagCounters {
  n_total: number;
  n_pending: number;
  n_active: number;
  n_completed: number;
  n_failed: number;
  n_skipped: number;
}

export function progressOf(r: DagCounters): DagProgressView {
  const done = r.n_completed + r.n_failed + r.n_skipped;
  return {
    total: r.n_total,
    pending: r.n_pending,
    active: r.n_active,
    completed: r.n_completed,
    failed: r.n_failed,
    skipped: r.n_skipped,
    percent: r.n_total === 0 ? 100 : Math.round((done / r.n_total) * 10_000) / 100,
  };
}

/** Hooks other capabilities plug in, all run inside the transition's transaction. */
export interface EngineHooks {
  /** At a DAG's end (not when cancelled): e.g. the incomplete-assets check. */
  onDagFinished: Array<(m: EntityManager, tenantId: string, dagId: string, state: DagState) => Promise<void>>;
}

/**
 * The state machine of jobs and DAGs. Every change is one transaction with a guarded
 * UPDATE (state, try, dispatch, lease owner), so a duplicate delivery or a stale report
 * changes nothing; every change appends its events in the same transaction. Effects that
 * leave Postgres (enqueue, cancel broadcast) happen after commit, from what the methods
 * return.
 */
export class JobEngine {
  readonly hooks: EngineHooks = { onDagFinished: [] };
  private readonly commits = new GroupCommit<BatchItem, BatchResult>((items) => this.flushBatch(items));

  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly bus: RedisBus,
  ) {}

  /** How many transactions the starts and completions of this process took, and for how many. */
  get groupCommitStats(): { flushes: number; items: number } {
    return { ...this.commits.stats };
  }

  // ---------------------------------------------------------------- shared pieces

  /**
   * Apply counter deltas to the DAG row (locking it: this serialises the end-of-DAG
   * decision), append the job events and any DAG state change, and finish the DAG when
   * nothing is left open. `finalState` forces the DAG's state (cancelDag, hard SLA).
   */
  async applyTransitions(
    m: EntityManager,
    tenantId: string,
    dagId: string,
    transitions: Transition[],
    opts: { finalState?: DagState } = {},
  ): Promise<{ progress: DagProgressView; state: DagState; finished: boolean }> {
    const delta = { pending: 0, active: 0, completed: 0, failed: 0, skipped: 0 };
    for (const t of transitions) {
      delta[bucket(t.from)] -= 1;
      delta[bucket(t.to)] += 1;
    }
    const activated = transitions.some((t) => t.to === 'ACTIVE');
    const ended = transitions.filter((t) => TERMINAL_JOB_STATES.includes(t.to)).map((t) => t.jobId);
    const rows: Array<
      DagCounters & SlaDue & { state: DagState; old_state: DagState; name: string; callback_url: string | null }
    > = await sqlRows(
      m,
      `WITH old AS (SELECT state FROM dags WHERE tenant_id = $1 AND id = $2 FOR UPDATE)
         UPDATE dags d SET n_pending = n_pending + $3, n_active = n_active + $4, n_completed = n_completed + $5,
           n_failed = n_failed + $6, n_skipped = n_skipped + $7,
           state = CASE WHEN d.state = 'CREATED' AND $8 THEN 'ACTIVE' ELSE d.state END,
           started_at = CASE WHEN d.started_at IS NULL AND $8 THEN now() ELSE d.started_at END
         FROM old WHERE d.tenant_id = $1 AND d.id = $2
         RETURNING d.n_total, d.n_pending, d.n_active, d.n_completed, d.n_failed, d.n_skipped, d.state, old.state AS old_state,
           d.name, d.callback_url, ${slaDueColumns('$9')}`,
      [tenantId, dagId, delta.pending, delta.active, delta.completed, delta.failed, delta.skipped, activated, ended],
    );
    const row = rows[0];
    if (!row) throw notFound(`DAG ${dagId}`);
    const at = new Date().toISOString();
    const events: NewEvent[] = transitions.map((t) => ({
      type: 'JOB',
      dagId,
      payload: {
        dagId,
        jobId: t.jobId,
        taskId: t.taskId,
        name: t.name,
        state: t.to,
        previousState: t.from,
        tryNumber: t.tryNumber,
        error: t.error ?? null,
        progressPercent: t.progressPercent ?? null,
        at,
      },
    }));
    let state = row.state;
    const progress = progressOf(row);
    const dagEvent = (to: DagState, from: DagState | null): NewEvent => ({
      type: 'DAG',
      dagId,
      payload: { dagId, name: row.name, state: to, previousState: from, progress, at },
    });
    if (row.old_state !== state) events.push(dagEvent(state, row.old_state));

    let finished = false;
    const open = row.n_pending + row.n_active;
    const isTerminal = (s: DagState) => s === 'COMPLETED' || s === 'FAILED' || s === 'CANCELLED';
    let target: DagState | null = null;
    if (opts.finalState && state !== opts.finalState) target = opts.finalState;
    else if (open === 0 && !isTerminal(state)) target = row.n_failed > 0 ? 'FAILED' : 'COMPLETED';
    else if (open > 0 && (state === 'COMPLETED' || state === 'FAILED')) target = 'ACTIVE'; // reopened by retryJob

    if (target && isTerminal(target)) {
      finished = true;
      await m.query(
        `UPDATE dags d SET state = $3, completed_at = now(),
           callback_state = CASE WHEN d.callback_url IS NOT NULL THEN 'PENDING' ELSE NULL END,
           callback_attempts = 0, callback_next_at = CASE WHEN d.callback_url IS NOT NULL THEN now() ELSE NULL END,
           purge_after = COALESCE((SELECT max(keep_until) FROM jobs j WHERE j.tenant_id = d.tenant_id AND j.dag_id = d.id),
                                  now() + make_interval(secs => $4::double precision))
         WHERE tenant_id = $1 AND id = $2`,
        [tenantId, dagId, target, this.config.dagRetentionDays * 86_400],
      );
      events.push(dagEvent(target, state));
      state = target;
    } else if (target === 'ACTIVE') {
      await m.query(
        `UPDATE dags SET state = 'ACTIVE', completed_at = NULL, purge_after = NULL, callback_state = NULL, callback_next_at = NULL
         WHERE tenant_id = $1 AND id = $2`,
        [tenantId, dagId],
      );
      events.push(dagEvent('ACTIVE', state));
      state = 'ACTIVE';
    }
    // Ended after a deadline: marked with its event here, whenever the sweep would run.
    events.push(...(await marksAtEnd(m, tenantId, dagId, row, ended, finished)));
    await appendEvents(m, tenantId, events);
    if (finished && state !== 'CANCELLED') {
      for (const hook of this.hooks.onDagFinished) await hook(m, tenantId, dagId, state);
    }
    return { progress, state, finished };
  }

  /** SKIP every CREATED/RETRY descendant of the jobs given. */
  private async skipDescendants(m: EntityManager, jobIds: string[]): Promise<Transition[]> {
    if (jobIds.length === 0) return [];
    const rows: Array<{ id: string; task_id: string; name: string; prev: JobState; try_number: number }> =
      await sqlRows(
        m,
        `WITH RECURSIVE d(job_id) AS (
         SELECT jd.job_id FROM job_dependencies jd WHERE jd.depends_on = ANY($1::uuid[])
         UNION SELECT jd.job_id FROM job_dependencies jd JOIN d ON jd.depends_on = d.job_id),
       locked AS (SELECT j.id, j.state AS prev FROM jobs j JOIN d ON d.job_id = j.id
                  WHERE j.state IN ('CREATED','RETRY') FOR UPDATE OF j)
       UPDATE jobs j SET state = 'SKIPPED', completed_at = now(), dispatched_at = NULL
       FROM locked WHERE j.id = locked.id
       RETURNING j.id, j.task_id, j.name, locked.prev, j.try_number`,
        [jobIds],
      );
    return rows.map((r) => ({
      jobId: r.id,
      taskId: r.task_id,
      name: r.name,
      from: r.prev,
      to: 'SKIPPED',
      tryNumber: r.try_number,
    }));
  }

  private async closeAttempt(
    m: EntityManager,
    jobId: string,
    tryNumber: number,
    dispatch: number,
    outcome: string,
    error: string | null,
  ) {
    await m.query(
      `UPDATE job_attempts SET outcome = $4, finished_at = now(), error = $5
       WHERE job_id = $1 AND try_number = $2 AND dispatch = $3 AND outcome = 'RUNNING'`,
      [jobId, tryNumber, dispatch, outcome, error],
    );
  }

  // ---------------------------------------------------------------- worker side

  /**
   * Take the attempt (guarded: a stale or duplicate delivery gets null) and its lease.
   * Concurrent starts and completions of this process share transactions (group commit).
   */
  async startAttempt(
    jobId: string,
    tryNumber: number,
    dispatch: number,
    workerId: string,
  ): Promise<StartedAttempt | null> {
    return (await this.commits.submit({
      kind: 'start',
      ref: { jobId, tryNumber, dispatch, workerId },
    })) as StartedAttempt | null;
  }

  /** A dispatch a worker fetched but will not start: make the job claimable again. */
  async releaseDispatch(jobId: string, tryNumber: number, dispatch: number): Promise<boolean> {
    const released = await sqlRows(
      this.ds,
      `UPDATE jobs SET dispatched_at = NULL WHERE id = $1 AND try_number = $2 AND dispatch = $3 AND state IN ('CREATED','RETRY')
       RETURNING 1`,
      [jobId, tryNumber, dispatch],
    );
    return released.length > 0;
  }

  /** Extend the lease of a running attempt; false when it is no longer ours. */
  async renewLease(a: AttemptRef): Promise<boolean> {
    const rows: unknown[] = await sqlRows(
      this.ds,
      `UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $5::double precision / 1000)
       WHERE id = $1 AND try_number = $2 AND dispatch = $3 AND lease_owner = $4 AND state = 'ACTIVE' RETURNING 1`,
      [a.jobId, a.tryNumber, a.dispatch, a.workerId, this.config.timings.leaseMs],
    );
    return rows.length > 0;
  }

  /** What the executor last said of its running attempt (refused when not current). */
  async reportProgress(a: AttemptRef, percent: number, message: string | null): Promise<boolean> {
    const p = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
    const rows: unknown[] = await sqlRows(
      this.ds,
      `UPDATE jobs SET progress_percent = $5, progress_message = $6
       WHERE id = $1 AND try_number = $2 AND dispatch = $3 AND lease_owner = $4 AND state = 'ACTIVE' RETURNING 1`,
      [a.jobId, a.tryNumber, a.dispatch, a.workerId, p, message?.slice(0, 1000) ?? null],
    );
    return rows.length > 0;
  }

  /** Throws CONFLICT unless this exact attempt still holds the job (inside `m`'s transaction). */
  async assertAttemptCurrent(m: EntityManager, a: AttemptRef): Promise<void> {
    const rows: unknown[] = await sqlRows(
      m,
      `SELECT 1 FROM jobs WHERE id = $1 AND try_number = $2 AND dispatch = $3 AND lease_owner = $4 AND state = 'ACTIVE' FOR SHARE`,
      [a.jobId, a.tryNumber, a.dispatch, a.workerId],
    );
    if (rows.length === 0) throw conflict('this attempt is no longer current (cancelled, expired, lost or retried)');
  }

  /**
   * Success: COMPLETED, output stored, dependents counted down; a dependent that became
   * ready is claimed in the same transaction. Group-committed with the other starts and
   * completions of this process: the jobs that became ready and the claimed dispatches
   * of a whole batch come back on one of its completions, to be enqueued once after commit.
   */
  async completeAttempt(a: AttemptRef, output: unknown): Promise<Completion> {
    const outputJson = output === undefined ? null : JSON.stringify(output);
    if (outputJson && Buffer.byteLength(outputJson) > LIMITS.maxOutputBytes) {
      const r = await this.failAttempt(a, `output is ${Buffer.byteLength(outputJson)} bytes; at most 1 MiB`, {
        nonRetryable: true,
      });
      return { accepted: r.accepted, readyJobIds: [], claimed: [] };
    }
    return (await this.commits.submit({ kind: 'complete', ref: a, outputJson })) as Completion;
  }

  /**
   * One flush of the group commit: the items in one transaction (`runBatch`). A deadlock
   * retries it; any other failure runs the items one by one, so one bad item fails alone.
   */
  private async flushBatch(items: BatchItem[]): Promise<Array<Settled<BatchResult>>> {
    for (let attempt = 1; ; attempt++) {
      try {
        const values = await this.ds.transaction((m) => this.runBatch(m, items));
        return values.map((value) => ({ ok: true as const, value }));
      } catch (error) {
        if ((error as { code?: string }).code === '40P01' && attempt < 3) continue;
        if (items.length === 1) return [{ ok: false as const, error }];
        const out: Array<Settled<BatchResult>> = [];
        for (const item of items) out.push(...(await this.flushBatch([item])));
        return out;
      }
    }
  }

  /**
   * Starts and completions in the caller's transaction: every completion (job rows,
   * attempt rows, dependents counted down once per child), every start (job rows, attempt
   * rows), then each DAG's counters and events once, DAGs in a fixed order.
   */
  private async runBatch(m: EntityManager, items: BatchItem[]): Promise<BatchResult[]> {
    const results: BatchResult[] = items.map((i) =>
      i.kind === 'start' ? null : { accepted: false, readyJobIds: [], claimed: [] },
    );
    const byDag = new Map<string, { tenantId: string; dagId: string; list: Transition[] }>();
    const addTransition = (tenantId: string, dagId: string, t: Transition) => {
      const k = `${tenantId}/${dagId}`;
      (byDag.get(k) ?? byDag.set(k, { tenantId, dagId, list: [] }).get(k)!).list.push(t);
    };
    const keyOf = (r: { jobId: string; tryNumber: number; dispatch: number }) =>
      `${r.jobId}.${r.tryNumber}.${r.dispatch}`;
    // The same attempt twice in one batch (a duplicate delivery): only the first is looked at.
    const firstOf = new Map<string, number>();
    items.forEach((it, i) => {
      const k = `${it.kind}:${keyOf(it.ref)}`;
      if (!firstOf.has(k)) firstOf.set(k, i);
    });
    const unique = [...firstOf.values()].sort((x, y) => items[x].ref.jobId.localeCompare(items[y].ref.jobId));
    const completes = unique.filter((i) => items[i].kind === 'complete');
    const starts = unique.filter((i) => items[i].kind === 'start');

    if (completes.length > 0) {
      const refs = completes.map((i) => items[i] as Extract<BatchItem, { kind: 'complete' }>);
      // One statement: the guarded completions, their attempt rows, and the dependents
      // counted down (by how many of their dependencies completed here) and claimed when
      // they reach zero and are due. Row locks on the dependents serialise concurrent
      // parents: exactly one transaction sees zero and claims the child; the caller
      // enqueues it after commit, and a crash in between is recovered by the dispatcher's
      // stale-dispatch sweep.
      const claimable = `j.pending_deps - c.n = 0 AND j.state IN ('CREATED','RETRY') AND j.dispatched_at IS NULL
        AND (j.run_after IS NULL OR j.run_after <= now())`;
      const [out] = await sqlRows<{ done: Array<JobRefRow & { dispatch: number }> | null; ready: ReadyRow[] | null }>(
        m,
        `WITH r AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::jsonb[])
                      AS r(id, try_number, dispatch, worker_id, output)),
         done AS (
           UPDATE jobs j SET state = 'COMPLETED', output = r.output, completed_at = now(), lease_owner = NULL,
               lease_expires_at = NULL, progress_percent = 100, dispatched_at = NULL
             FROM r WHERE j.id = ANY($1::uuid[]) AND j.id = r.id AND j.try_number = r.try_number
               AND j.dispatch = r.dispatch AND j.lease_owner = r.worker_id AND j.state = 'ACTIVE'
             RETURNING j.id, j.tenant_id, j.dag_id, j.task_id, j.name, j.try_number, j.dispatch),
         closed AS (
           UPDATE job_attempts a SET outcome = 'SUCCEEDED', finished_at = now(), error = NULL
             FROM done WHERE a.job_id = done.id AND a.try_number = done.try_number AND a.dispatch = done.dispatch
               AND a.outcome = 'RUNNING'),
         c AS (SELECT jd.job_id, count(*)::int AS n FROM job_dependencies jd JOIN done ON jd.depends_on = done.id
                GROUP BY jd.job_id),
         ready AS (
           UPDATE jobs j SET pending_deps = j.pending_deps - c.n,
             dispatch = CASE WHEN ${claimable} THEN j.dispatch + 1 ELSE j.dispatch END,
             dispatched_at = CASE WHEN ${claimable} THEN now() ELSE j.dispatched_at END
           FROM c WHERE j.id = c.job_id
           RETURNING j.id, j.pending_deps, j.state, j.tenant_id, j.try_number, j.dispatch, j.executor, j.requires_gpu,
             j.priority, j.job_level, (j.pending_deps = 0 AND j.state IN ('CREATED','RETRY') AND j.dispatched_at = now()) AS claimed)
         SELECT (SELECT json_agg(done) FROM done) AS done, (SELECT json_agg(ready) FROM ready) AS ready`,
        [
          refs.map((r) => r.ref.jobId),
          refs.map((r) => r.ref.tryNumber),
          refs.map((r) => r.ref.dispatch),
          refs.map((r) => r.ref.workerId),
          refs.map((r) => r.outputJson),
        ],
      );
      const done = out?.done ?? [];
      const ready = out?.ready ?? [];
      const readyJobIds = ready
        .filter((x) => x.pending_deps === 0 && (x.state === 'CREATED' || x.state === 'RETRY'))
        .map((x) => x.id);
      const claimed: ClaimedDispatch[] = ready
        .filter((x) => x.claimed)
        .map(({ id, tenant_id, try_number, dispatch, executor, requires_gpu, priority, job_level }) => ({
          id,
          tenant_id,
          try_number,
          dispatch,
          executor,
          requires_gpu,
          priority,
          job_level,
        }));
      const accepted = new Set(done.map((r) => keyOf({ jobId: r.id, tryNumber: r.try_number, dispatch: r.dispatch })));
      let first = true;
      for (const i of completes) {
        if (!accepted.has(keyOf(items[i].ref))) continue;
        // What became ready goes back once, on the first completion, to be enqueued once.
        results[i] = first
          ? { accepted: true, readyJobIds, claimed }
          : { accepted: true, readyJobIds: [], claimed: [] };
        first = false;
      }
      for (const r of done) addTransition(r.tenant_id, r.dag_id, completeTransition(r));
    }

    if (starts.length > 0) {
      const refs = starts.map((i) => items[i].ref);
      // One statement: the guarded starts (each under its worker's lease) and their attempt rows.
      const rows: StartRow[] = await sqlRows(
        m,
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
             j.try_number, j.dispatch, j.lease_owner,
             (SELECT name FROM dags WHERE tenant_id = j.tenant_id AND id = j.dag_id) AS dag_name,
             (SELECT array_agg(p.task_id) FROM job_dependencies jd JOIN jobs p ON p.id = jd.depends_on
               WHERE jd.job_id = j.id) AS upstream),
         a AS (INSERT INTO job_attempts (job_id, try_number, dispatch, outcome, worker_id)
               SELECT id, try_number, dispatch, 'RUNNING', lease_owner FROM s)
         SELECT * FROM s`,
        [
          refs.map((r) => r.jobId),
          refs.map((r) => r.tryNumber),
          refs.map((r) => r.dispatch),
          refs.map((r) => r.workerId),
          this.config.timings.leaseMs,
        ],
      );
      const byKey = new Map(
        rows.map((r) => [keyOf({ jobId: r.id, tryNumber: r.try_number, dispatch: r.dispatch }), r]),
      );
      for (const i of starts) {
        const r = byKey.get(keyOf(items[i].ref));
        if (r) results[i] = startedOf(r);
      }
      for (const r of rows) addTransition(r.tenant_id, r.dag_id, startTransition(r));
    }

    const dags = [...byDag.values()].sort((x, y) =>
      x.tenantId === y.tenantId ? x.dagId.localeCompare(y.dagId) : x.tenantId.localeCompare(y.tenantId),
    );
    for (const d of dags) await this.applyTransitions(m, d.tenantId, d.dagId, d.list);
    return results;
  }

  /**
   * A failed attempt: RETRY at the next try after the delay while tries are left (not for
   * non-retryable failures), else FAILED (or EXPIRED) with every descendant SKIPPED.
   * `workerId` null = the scheduler deciding (expiry): no lease-owner check.
   */
  async failAttempt(
    a: Omit<AttemptRef, 'workerId'> & { workerId: string | null },
    error: string,
    opts: { nonRetryable?: boolean; expired?: boolean } = {},
  ): Promise<{ accepted: boolean; retryAt: Date | null }> {
    const message = error.slice(0, 10_000);
    return this.ds.transaction(async (m) => {
      const rows: Array<{
        id: string;
        tenant_id: string;
        dag_id: string;
        task_id: string;
        name: string;
        try_number: number;
        retry_base: number;
        retry_limit: number;
        retry_delay: number;
        retry_backoff: boolean;
      }> = await sqlRows(
        m,
        `SELECT id, tenant_id, dag_id, task_id, name, try_number, retry_base, retry_limit, retry_delay, retry_backoff
         FROM jobs WHERE id = $1 AND try_number = $2 AND dispatch = $3 AND state = 'ACTIVE'
           AND ($4::text IS NULL OR lease_owner = $4) FOR UPDATE`,
        [a.jobId, a.tryNumber, a.dispatch, a.workerId],
      );
      const j = rows[0];
      if (!j) return { accepted: false, retryAt: null };
      await this.closeAttempt(m, j.id, j.try_number, a.dispatch, opts.expired ? 'EXPIRED' : 'FAILED', message);
      const attemptInBudget = j.try_number - j.retry_base; // 1-based
      const canRetry = !opts.nonRetryable && attemptInBudget < j.retry_limit + 1;
      if (canRetry) {
        const unit = this.config.timings.retryDelayUnitMs;
        let delayMs = j.retry_delay * unit;
        if (j.retry_backoff) {
          const base = j.retry_delay * 2 ** (attemptInBudget - 1) * unit;
          delayMs = base + Math.random() * base;
        }
        const retryAt = new Date(Date.now() + delayMs);
        await m.query(
          `UPDATE jobs SET state = 'RETRY', try_number = try_number + 1, dispatch = 0, dispatched_at = NULL, run_after = $2,
             error = $3, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1`,
          [j.id, retryAt, message],
        );
        await this.applyTransitions(m, j.tenant_id, j.dag_id, [
          {
            jobId: j.id,
            taskId: j.task_id,
            name: j.name,
            from: 'ACTIVE',
            to: 'RETRY',
            tryNumber: j.try_number + 1,
            error: message,
          },
        ]);
        return { accepted: true, retryAt };
      }
      const to: JobState = opts.expired ? 'EXPIRED' : 'FAILED';
      await m.query(
        `UPDATE jobs SET state = $2, error = $3, completed_at = now(), lease_owner = NULL, lease_expires_at = NULL, dispatched_at = NULL
         WHERE id = $1`,
        [j.id, to, message],
      );
      const skipped = await this.skipDescendants(m, [j.id]);
      await this.applyTransitions(m, j.tenant_id, j.dag_id, [
        { jobId: j.id, taskId: j.task_id, name: j.name, from: 'ACTIVE', to, tryNumber: j.try_number, error: message },
        ...skipped,
      ]);
      return { accepted: true, retryAt: null };
    });
  }

  /**
   * The same try goes back to be run again elsewhere (a lost lease, or a worker handing
   * back what it cannot finish): not a failed attempt.
   */
  async requeueAttempt(
    a: Omit<AttemptRef, 'workerId'> & { workerId: string | null },
    outcome: 'LOST' | 'HANDED_BACK',
  ): Promise<boolean> {
    return this.ds.transaction(async (m) => {
      const rows: JobRefRow[] = await sqlRows(
        m,
        `UPDATE jobs SET state = 'RETRY', dispatched_at = NULL, run_after = now(), lease_owner = NULL, lease_expires_at = NULL
           WHERE id = $1 AND try_number = $2 AND dispatch = $3 AND state = 'ACTIVE' AND ($4::text IS NULL OR lease_owner = $4)
           RETURNING id, tenant_id, dag_id, task_id, name, try_number`,
        [a.jobId, a.tryNumber, a.dispatch, a.workerId],
      );
      const r = rows[0];
      if (!r) return false;
      await this.closeAttempt(
        m,
        r.id,
        r.try_number,
        a.dispatch,
        outcome,
        outcome === 'LOST' ? 'lease expired' : 'handed back by a stopping worker',
      );
      await this.applyTransitions(m, r.tenant_id, r.dag_id, [
        { jobId: r.id, taskId: r.task_id, name: r.name, from: 'ACTIVE', to: 'RETRY', tryNumber: r.try_number },
      ]);
      return true;
    });
  }

  // ---------------------------------------------------------------- API side

  /** cancelDag: every open job CANCELLED at once, the DAG CANCELLED. Returns the jobs that were running. */
  async cancelDag(tenantId: string, dagId: string): Promise<{ activeJobIds: string[]; queued: QueuedDispatch[] }> {
    const result = await this.ds.transaction(async (m) => {
      const dag: Array<{ state: DagState }> = await sqlRows(
        m,
        `SELECT state FROM dags WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
        [tenantId, dagId],
      );
      if (!dag[0]) throw notFound(`DAG ${dagId}`);
      if (dag[0].state === 'CANCELLED') return { activeJobIds: [], queued: [] };
      if (dag[0].state === 'COMPLETED' || dag[0].state === 'FAILED')
        throw conflict(`DAG ${dagId} already ended ${dag[0].state}`);
      const jobs = await this.cancelOpenJobs(m, tenantId, dagId, null);
      await this.applyTransitions(m, tenantId, dagId, jobs, { finalState: 'CANCELLED' });
      return { activeJobIds: jobs.filter((t) => t.from === 'ACTIVE').map((t) => t.jobId), queued: queuedOf(jobs) };
    });
    return result;
  }

  private async cancelOpenJobs(
    m: EntityManager,
    tenantId: string,
    dagId: string,
    jobIds: string[] | null,
  ): Promise<Transition[]> {
    const rows: Array<{
      id: string;
      task_id: string;
      name: string;
      prev: JobState;
      try_number: number;
      dispatch: number;
      executor: string;
      requires_gpu: boolean;
      was_dispatched: boolean;
    }> = await sqlRows(
      m,
      `WITH locked AS (SELECT id, state AS prev, dispatched_at IS NOT NULL AS was_dispatched FROM jobs
                        WHERE tenant_id = $1 AND dag_id = $2
                         AND state IN ('CREATED','RETRY','ACTIVE') AND ($3::uuid[] IS NULL OR id = ANY($3)) FOR UPDATE)
       UPDATE jobs j SET state = 'CANCELLED', completed_at = now(), lease_owner = NULL, lease_expires_at = NULL,
         dispatched_at = NULL, error = COALESCE(j.error, 'cancelled')
       FROM locked WHERE j.id = locked.id
       RETURNING j.id, j.task_id, j.name, locked.prev, j.try_number, j.dispatch, j.executor, j.requires_gpu,
         locked.was_dispatched`,
      [tenantId, dagId, jobIds],
    );
    const active = rows.filter((r) => r.prev === 'ACTIVE');
    if (active.length) {
      await m.query(
        `UPDATE job_attempts SET outcome = 'CANCELLED', finished_at = now(), error = 'cancelled'
         WHERE job_id = ANY($1::uuid[]) AND outcome = 'RUNNING'`,
        [active.map((r) => r.id)],
      );
    }
    return rows.map((r) => ({
      jobId: r.id,
      taskId: r.task_id,
      name: r.name,
      from: r.prev,
      to: 'CANCELLED',
      tryNumber: r.try_number,
      queued:
        r.prev !== 'ACTIVE' && r.was_dispatched
          ? {
              jobId: r.id,
              tryNumber: r.try_number,
              dispatch: r.dispatch,
              executor: r.executor,
              requiresGpu: r.requires_gpu,
            }
          : undefined,
    }));
  }

  /** cancelJob: CANCELLED at once, its descendants SKIPPED, the rest goes on. */
  async cancelJob(
    tenantId: string,
    dagId: string,
    taskId: string,
  ): Promise<{ activeJobIds: string[]; queued: QueuedDispatch[] }> {
    return this.ds.transaction(async (m) => {
      const found: Array<{ id: string; state: JobState }> = await sqlRows(
        m,
        `SELECT id, state FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND task_id = $3`,
        [tenantId, dagId, taskId],
      );
      const job = found[0];
      if (!job) throw notFound(`job ${taskId} of DAG ${dagId}`);
      const cancelled = await this.cancelOpenJobs(m, tenantId, dagId, [job.id]);
      if (cancelled.length === 0) throw conflict(`job ${taskId} already ended ${job.state}`);
      const skipped = await this.skipDescendants(m, [job.id]);
      await this.applyTransitions(m, tenantId, dagId, [...cancelled, ...skipped]);
      return { activeJobIds: cancelled[0].from === 'ACTIVE' ? [job.id] : [], queued: queuedOf(cancelled) };
    });
  }

  /**
   * retryJob: a FAILED, EXPIRED or CANCELLED job runs again at the next try with a fresh
   * retry budget; its skipped descendants with no other failed ancestor come back; the
   * DAG reopens. Returns the job id and whether it is ready now.
   */
  async retryJob(tenantId: string, dagId: string, taskId: string): Promise<string> {
    return this.ds.transaction(async (m) => {
      const dag: Array<{ state: DagState }> = await sqlRows(
        m,
        `SELECT state FROM dags WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
        [tenantId, dagId],
      );
      if (!dag[0]) throw notFound(`DAG ${dagId}`);
      if (dag[0].state === 'CANCELLED') throw conflict(`DAG ${dagId} was cancelled; it cannot be retried`);
      const found: Array<{ id: string; state: JobState; name: string; try_number: number }> = await sqlRows(
        m,
        `SELECT id, state, name, try_number FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND task_id = $3 FOR UPDATE`,
        [tenantId, dagId, taskId],
      );
      const job = found[0];
      if (!job) throw notFound(`job ${taskId} of DAG ${dagId}`);
      if (!FAILED_JOB_STATES.includes(job.state))
        throw conflict(`job ${taskId} is ${job.state}; only FAILED, EXPIRED or CANCELLED jobs can be retried`);
      await m.query(
        `UPDATE jobs j SET state = 'RETRY', try_number = try_number + 1, retry_base = try_number, dispatch = 0, dispatched_at = NULL,
           run_after = now(), error = NULL, output = NULL, completed_at = NULL, progress_percent = NULL, progress_message = NULL,
           pending_deps = (SELECT count(*) FROM job_dependencies jd JOIN jobs p ON p.id = jd.depends_on
                           WHERE jd.job_id = j.id AND p.state <> 'COMPLETED')
         WHERE id = $1`,
        [job.id],
      );
      const unskipped: Array<{ id: string; task_id: string; name: string; try_number: number }> = await sqlRows(
        m,
        `WITH RECURSIVE d(job_id) AS (
           SELECT jd.job_id FROM job_dependencies jd WHERE jd.depends_on = $1
           UNION SELECT jd.job_id FROM job_dependencies jd JOIN d ON jd.depends_on = d.job_id),
         cand AS (SELECT j.id FROM jobs j JOIN d ON d.job_id = j.id WHERE j.state = 'SKIPPED'),
         anc(cand, anc) AS (
           SELECT c.id, jd.depends_on FROM cand c JOIN job_dependencies jd ON jd.job_id = c.id
           UNION SELECT a.cand, jd.depends_on FROM anc a JOIN job_dependencies jd ON jd.job_id = a.anc),
         ok AS (SELECT c.id FROM cand c WHERE NOT EXISTS (
           SELECT 1 FROM anc a JOIN jobs x ON x.id = a.anc WHERE a.cand = c.id AND x.state IN ('FAILED','EXPIRED','CANCELLED')))
         UPDATE jobs j SET state = 'CREATED', completed_at = NULL, dispatched_at = NULL,
           pending_deps = (SELECT count(*) FROM job_dependencies jd JOIN jobs p ON p.id = jd.depends_on
                           WHERE jd.job_id = j.id AND p.state <> 'COMPLETED')
         FROM ok WHERE j.id = ok.id
         RETURNING j.id, j.task_id, j.name, j.try_number`,
        [job.id],
      );
      await this.applyTransitions(m, tenantId, dagId, [
        { jobId: job.id, taskId, name: job.name, from: job.state, to: 'RETRY', tryNumber: job.try_number + 1 },
        ...unskipped.map((u) => ({
          jobId: u.id,
          taskId: u.task_id,
          name: u.name,
          from: 'SKIPPED' as const,
          to: 'CREATED' as const,
          tryNumber: u.try_number,
        })),
      ]);
      return job.id;
    });
  }

  async broadcastCancel(jobIds: string[]): Promise<void> {
    if (jobIds.length) await this.bus.publish('cancel', JSON.stringify(jobIds));
  }

  // ---------------------------------------------------------------- sweeps (scheduler)

  /** Leases that ran out: the same try goes back to run elsewhere. */
  async sweepLostLeases(limit = 100): Promise<number> {
    const rows: Array<{ id: string; try_number: number; dispatch: number }> = await sqlRows(
      this.ds,
      `SELECT id, try_number, dispatch FROM jobs WHERE state = 'ACTIVE' AND lease_expires_at < now() ORDER BY lease_expires_at LIMIT $1`,
      [limit],
    );
    let n = 0;
    for (const r of rows) {
      if (
        await this.requeueAttempt(
          { jobId: r.id, tryNumber: r.try_number, dispatch: r.dispatch, workerId: null },
          'LOST',
        )
      )
        n++;
    }
    return n;
  }

  /** Attempts ACTIVE longer than expireInSeconds fail (the last one ends EXPIRED). */
  async sweepExpired(limit = 100): Promise<Array<{ jobId: string; retryAt: Date | null }>> {
    const rows: Array<{ id: string; try_number: number; dispatch: number }> = await sqlRows(
      this.ds,
      `SELECT id, try_number, dispatch FROM jobs WHERE state = 'ACTIVE' AND expire_in_seconds IS NOT NULL
         AND attempt_started_at + make_interval(secs => expire_in_seconds) < now() LIMIT $1`,
      [limit],
    );
    const out: Array<{ jobId: string; retryAt: Date | null }> = [];
    for (const r of rows) {
      const res = await this.failAttempt(
        { jobId: r.id, tryNumber: r.try_number, dispatch: r.dispatch, workerId: null },
        'attempt expired',
        {
          expired: true,
        },
      );
      if (res.accepted) out.push({ jobId: r.id, retryAt: res.retryAt });
    }
    if (out.length) await this.broadcastCancel(out.map((o) => o.jobId));
    return out;
  }

  /**
   * Soft misses emit one event (mark and event in one transaction); a job's hard miss
   * cancels it; the DAG's cancels the rest and fails it. What ends after a deadline is
   * marked by the transition that ends it (sla-marks.ts).
   */
  async sweepSlas(): Promise<{ queued: QueuedDispatch[] }> {
    const now = new Date().toISOString();
    await sweepSoftMisses(this.ds);
    const queued: QueuedDispatch[] = [];

    const hardJobs: Array<{ tenant_id: string; dag_id: string; task_id: string; id: string; hard_sla: Date }> =
      await sqlRows(
        this.ds,
        `SELECT tenant_id, dag_id, task_id, id, hard_sla FROM jobs WHERE hard_sla < now() AND sla_hard_missed_at IS NULL
         AND state IN ('CREATED','RETRY','ACTIVE') LIMIT 100`,
      );
    for (const j of hardJobs) {
      const done: QueuedDispatch[] = [];
      const active = await this.ds.transaction(async (m) => {
        const marked: unknown[] = await sqlRows(
          m,
          `UPDATE jobs SET sla_hard_missed_at = now() WHERE id = $1 AND sla_hard_missed_at IS NULL RETURNING 1`,
          [j.id],
        );
        if (!marked.length) return [];
        const cancelled = await this.cancelOpenJobs(m, j.tenant_id, j.dag_id, [j.id]);
        done.push(...queuedOf(cancelled));
        const skipped = await this.skipDescendants(
          m,
          cancelled.map((c) => c.jobId),
        );
        await appendEvents(m, j.tenant_id, [slaEventOf(j.dag_id, j.task_id, 'HARD_MISSED', j.hard_sla, now)]);
        await this.applyTransitions(m, j.tenant_id, j.dag_id, [...cancelled, ...skipped]);
        return cancelled.filter((c) => c.from === 'ACTIVE').map((c) => c.jobId);
      });
      queued.push(...done); // committed: their queue entries can go
      await this.broadcastCancel(active);
    }
    const hardDags: Array<{ tenant_id: string; id: string; hard_sla: Date }> = await sqlRows(
      this.ds,
      `SELECT tenant_id, id, hard_sla FROM dags WHERE hard_sla < now() AND sla_hard_missed_at IS NULL AND state IN ('CREATED','ACTIVE') LIMIT 100`,
    );
    for (const d of hardDags) {
      const done: QueuedDispatch[] = [];
      const active = await this.ds.transaction(async (m) => {
        const marked: unknown[] = await sqlRows(
          m,
          `UPDATE dags SET sla_hard_missed_at = now() WHERE tenant_id = $1 AND id = $2 AND sla_hard_missed_at IS NULL
             AND state IN ('CREATED','ACTIVE') RETURNING 1`,
          [d.tenant_id, d.id],
        );
        if (!marked.length) return [];
        const cancelled = await this.cancelOpenJobs(m, d.tenant_id, d.id, null);
        done.push(...queuedOf(cancelled));
        await appendEvents(m, d.tenant_id, [slaEventOf(d.id, null, 'HARD_MISSED', d.hard_sla, now)]);
        await this.applyTransitions(m, d.tenant_id, d.id, cancelled, { finalState: 'FAILED' });
        return cancelled.filter((c) => c.from === 'ACTIVE').map((c) => c.jobId);
      });
      queued.push(...done); // committed: their queue entries can go
      await this.broadcastCancel(active);
    }
    return { queued };
  }

  /** Finished DAGs past their keepUntil (or the retention) are deleted; materializations stay. */
  async sweepPurge(limit = 100): Promise<number> {
    const rows: unknown[] = await sqlRows(
      this.ds,
      `DELETE FROM dags WHERE (tenant_id, id) IN (
         SELECT tenant_id, id FROM dags WHERE purge_after < now() AND state IN ('COMPLETED','FAILED','CANCELLED') LIMIT $1)
       RETURNING 1`,
      [limit],
    );
    return rows.length;
  }
}
