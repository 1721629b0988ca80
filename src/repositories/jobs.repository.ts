import { rows as sqlRows, type SqlRunner } from '../db/sql';
import type { JobState } from '../core/states';
import { leaseHeld } from './job-leases.repository';

/** Identifies one attempt of one try: what a worker holds while it runs a job. */
export interface AttemptRef {
  jobId: string;
  tryNumber: number;
  dispatch: number;
  workerId: string;
}

/** An attempt decided on by the scheduler (`workerId` null: no lease-owner check). */
export type AttemptKey = Omit<AttemptRef, 'workerId'> & { workerId: string | null };

/** What a transition needs to know of the job it changed. */
export interface JobRef {
  id: string;
  tenantId: string;
  dagId: string;
  taskId: string;
  name: string;
  tryNumber: number;
}

/** What a job's change returns for its transition (state before, try after). */
export interface ChangedJob {
  id: string;
  taskId: string;
  name: string;
  prev: JobState;
  tryNumber: number;
}

/** A cancelled job, and whether a dispatch of it may still sit in its queue. */
export interface CancelledJob extends ChangedJob {
  dispatch: number;
  executor: string;
  requiresGpu: boolean;
  wasDispatched: boolean;
}

/** The job a failed attempt belongs to, with its retry policy (locked). */
export interface FailingJob extends JobRef {
  retryBase: number;
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
}

/** A job found by its task id. */
export interface JobOfTask {
  id: string;
  state: JobState;
  name: string;
  tryNumber: number;
}

const changedOf = (r: { id: string; task_id: string; name: string; prev: JobState; try_number: number }) => ({
  id: r.id,
  taskId: r.task_id,
  name: r.name,
  prev: r.prev,
  tryNumber: r.try_number,
});

/** A job row's identity, camelCased. */
export const jobRefOf = (r: {
  id: string;
  tenant_id: string;
  dag_id: string;
  task_id: string;
  name: string;
  try_number: number;
}): JobRef => ({
  id: r.id,
  tenantId: r.tenant_id,
  dagId: r.dag_id,
  taskId: r.task_id,
  name: r.name,
  tryNumber: r.try_number,
});

/**
 * SQL on `jobs`, `job_attempts` and `job_dependencies` for the engine's commands: the
 * single-attempt reports (renew, progress, release, fail, requeue) and the graph changes
 * (skip, cancel, retry). The group-committed starts and completions are in
 * job-attempts.repository.ts; the dispatcher's claims in job-dispatch.repository.ts.
 */
export class JobsRepository {
  /** A dispatch a worker fetched but will not start: claimable again. */
  async releaseDispatch(m: SqlRunner, jobId: string, tryNumber: number, dispatch: number): Promise<boolean> {
    const released = await sqlRows(
      m,
      `UPDATE jobs SET dispatched_at = NULL WHERE id = $1 AND try_number = $2 AND dispatch = $3 AND state IN ('CREATED','RETRY')
       RETURNING 1`,
      [jobId, tryNumber, dispatch],
    );
    return released.length > 0;
  }

  async renewLease(m: SqlRunner, a: AttemptRef, leaseMs: number): Promise<boolean> {
    const rows: unknown[] = await sqlRows(
      m,
      `UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $5::double precision / 1000)
       WHERE ${leaseHeld('$1', '$2', '$3', '$4')} RETURNING 1`,
      [a.jobId, a.tryNumber, a.dispatch, a.workerId, leaseMs],
    );
    return rows.length > 0;
  }

  /** A null worker (an attempt token) matches whichever worker holds that dispatch. */
  async reportProgress(m: SqlRunner, a: AttemptKey, percent: number, message: string | null): Promise<boolean> {
    const rows: unknown[] = await sqlRows(
      m,
      `UPDATE jobs SET progress_percent = $5, progress_message = $6
       WHERE ${leaseHeld('$1', '$2', '$3', '$4', { nullableWorker: true })} RETURNING 1`,
      [a.jobId, a.tryNumber, a.dispatch, a.workerId, percent, message],
    );
    return rows.length > 0;
  }

  async closeAttempt(
    m: SqlRunner,
    jobId: string,
    tryNumber: number,
    dispatch: number,
    outcome: string,
    error: string | null,
  ): Promise<void> {
    await m.query(
      `UPDATE job_attempts SET outcome = $4, finished_at = now(), error = $5
       WHERE job_id = $1 AND try_number = $2 AND dispatch = $3 AND outcome = 'RUNNING'`,
      [jobId, tryNumber, dispatch, outcome, error],
    );
  }

  /** The job of a failing attempt, locked, with its retry policy; null when the attempt is not current. */
  async lockFailing(m: SqlRunner, a: AttemptKey): Promise<FailingJob | null> {
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
         FROM jobs WHERE ${leaseHeld('$1', '$2', '$3', '$4', { nullableWorker: true })} FOR UPDATE`,
      [a.jobId, a.tryNumber, a.dispatch, a.workerId],
    );
    const j = rows[0];
    if (!j) return null;
    return {
      ...jobRefOf(j),
      retryBase: j.retry_base,
      retryLimit: j.retry_limit,
      retryDelay: j.retry_delay,
      retryBackoff: j.retry_backoff,
    };
  }

  /** RETRY at the next try, due at `retryAt`. */
  async scheduleRetry(m: SqlRunner, jobId: string, retryAt: Date, error: string): Promise<void> {
    await m.query(
      `UPDATE jobs SET state = 'RETRY', try_number = try_number + 1, dispatch = 0, dispatched_at = NULL, run_after = $2,
         error = $3, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1`,
      [jobId, retryAt, error],
    );
  }

  /** FAILED or EXPIRED for good. */
  async markFailed(m: SqlRunner, jobId: string, to: JobState, error: string): Promise<void> {
    await m.query(
      `UPDATE jobs SET state = $2, error = $3, completed_at = now(), lease_owner = NULL, lease_expires_at = NULL, dispatched_at = NULL
       WHERE id = $1`,
      [jobId, to, error],
    );
  }

  /** The same try back to RETRY, due now (a lost lease, a handed-back attempt); null when not current. */
  async requeue(m: SqlRunner, a: AttemptKey): Promise<JobRef | null> {
    const rows: Array<Parameters<typeof jobRefOf>[0]> = await sqlRows(
      m,
      `UPDATE jobs SET state = 'RETRY', dispatched_at = NULL, run_after = now(), lease_owner = NULL, lease_expires_at = NULL
         WHERE ${leaseHeld('$1', '$2', '$3', '$4', { nullableWorker: true })}
         RETURNING id, tenant_id, dag_id, task_id, name, try_number`,
      [a.jobId, a.tryNumber, a.dispatch, a.workerId],
    );
    return rows[0] ? jobRefOf(rows[0]) : null;
  }

  /** SKIP every CREATED/RETRY descendant of the jobs given. */
  async skipDescendants(m: SqlRunner, jobIds: string[]): Promise<ChangedJob[]> {
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
    return rows.map(changedOf);
  }

  /** CANCEL the open jobs of a DAG (all, or those of `jobIds`) and close their running attempts. */
  async cancelOpen(m: SqlRunner, tenantId: string, dagId: string, jobIds: string[] | null): Promise<CancelledJob[]> {
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
      ...changedOf(r),
      dispatch: r.dispatch,
      executor: r.executor,
      requiresGpu: r.requires_gpu,
      wasDispatched: r.was_dispatched,
    }));
  }

  /** A job by its task id (`lock`: FOR UPDATE). */
  async byTask(m: SqlRunner, tenantId: string, dagId: string, taskId: string, lock = false): Promise<JobOfTask | null> {
    const found: Array<{ id: string; state: JobState; name: string; try_number: number }> = await sqlRows(
      m,
      `SELECT id, state, name, try_number FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND task_id = $3${lock ? ' FOR UPDATE' : ''}`,
      [tenantId, dagId, taskId],
    );
    const j = found[0];
    return j ? { id: j.id, state: j.state, name: j.name, tryNumber: j.try_number } : null;
  }

  /**
   * A FAILED, EXPIRED or CANCELLED job to RETRY at the next try with a fresh budget; its
   * skipped descendants with no other failed ancestor back to CREATED (returned).
   */
  async retry(m: SqlRunner, jobId: string): Promise<ChangedJob[]> {
    await m.query(
      `UPDATE jobs j SET state = 'RETRY', try_number = try_number + 1, retry_base = try_number, dispatch = 0, dispatched_at = NULL,
         run_after = now(), error = NULL, output = NULL, completed_at = NULL, progress_percent = NULL, progress_message = NULL,
         pending_deps = (SELECT count(*) FROM job_dependencies jd JOIN jobs p ON p.id = jd.depends_on
                         WHERE jd.job_id = j.id AND p.state <> 'COMPLETED')
       WHERE id = $1`,
      [jobId],
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
      [jobId],
    );
    return unskipped.map((u) => changedOf({ ...u, prev: 'SKIPPED' }));
  }

  /** Attempts whose lease ran out. */
  async lostLeases(m: SqlRunner, limit: number): Promise<AttemptKey[]> {
    const rows: Array<{ id: string; try_number: number; dispatch: number }> = await sqlRows(
      m,
      `SELECT id, try_number, dispatch FROM jobs WHERE state = 'ACTIVE' AND lease_expires_at < now() ORDER BY lease_expires_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ jobId: r.id, tryNumber: r.try_number, dispatch: r.dispatch, workerId: null }));
  }

  /** Attempts ACTIVE longer than their job's expireInSeconds. */
  async expiredAttempts(m: SqlRunner, limit: number): Promise<AttemptKey[]> {
    const rows: Array<{ id: string; try_number: number; dispatch: number }> = await sqlRows(
      m,
      `SELECT id, try_number, dispatch FROM jobs WHERE state = 'ACTIVE' AND expire_in_seconds IS NOT NULL
         AND attempt_started_at + make_interval(secs => expire_in_seconds) < now() LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ jobId: r.id, tryNumber: r.try_number, dispatch: r.dispatch, workerId: null }));
  }

  /** Open jobs past an unmarked hard SLA. */
  async pastHardSla(
    m: SqlRunner,
  ): Promise<Array<{ tenantId: string; dagId: string; taskId: string; id: string; hardSla: Date }>> {
    const rows: Array<{ tenant_id: string; dag_id: string; task_id: string; id: string; hard_sla: Date }> =
      await sqlRows(
        m,
        `SELECT tenant_id, dag_id, task_id, id, hard_sla FROM jobs WHERE hard_sla < now() AND sla_hard_missed_at IS NULL
         AND state IN ('CREATED','RETRY','ACTIVE') LIMIT 100`,
      );
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      dagId: r.dag_id,
      taskId: r.task_id,
      id: r.id,
      hardSla: r.hard_sla,
    }));
  }

  /** Mark a job's hard miss; false when it was already marked. */
  async markHardMissed(m: SqlRunner, jobId: string): Promise<boolean> {
    const marked: unknown[] = await sqlRows(
      m,
      `UPDATE jobs SET sla_hard_missed_at = now() WHERE id = $1 AND sla_hard_missed_at IS NULL RETURNING 1`,
      [jobId],
    );
    return marked.length > 0;
  }

  /** A DAG node's job, its row share-locked (the recording fence); null when the node is not ours. */
  async nodeAttempt(
    m: SqlRunner,
    tenantId: string,
    dagId: string,
    taskId: string,
  ): Promise<{ id: string; state: JobState; tryNumber: number; dispatch: number } | null> {
    const jobs: Array<{ id: string; state: JobState; try_number: number; dispatch: number }> = await sqlRows(
      m,
      `SELECT id, state, try_number, dispatch FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND task_id = $3 FOR SHARE`,
      [tenantId, dagId, taskId],
    );
    const j = jobs[0];
    return j ? { id: j.id, state: j.state, tryNumber: j.try_number, dispatch: j.dispatch } : null;
  }

  /** The task ids of a DAG's COMPLETED jobs. */
  async completedTaskIds(m: SqlRunner, tenantId: string, dagId: string): Promise<string[]> {
    const done: Array<{ task_id: string }> = await sqlRows(
      m,
      `SELECT task_id FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND state = 'COMPLETED'`,
      [tenantId, dagId],
    );
    return done.map((d) => d.task_id);
  }
}
