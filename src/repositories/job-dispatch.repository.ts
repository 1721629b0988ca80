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

/**
 * The dispatcher's SQL on `jobs`: a claim bumps the job's dispatch number in one guarded
 * UPDATE (SKIP LOCKED), so each dispatch is enqueued once whichever process claims it.
 */
export class JobDispatchRepository {
  /** Claim ready jobs (every dependency COMPLETED, due), by priority then level. */
  async claimReady(m: SqlRunner, limit: number): Promise<ClaimedDispatch[]> {
    const rows: ClaimedRow[] = await sqlRows(
      m,
      `UPDATE jobs j SET dispatch = j.dispatch + 1, dispatched_at = now()
       FROM (SELECT id FROM jobs WHERE state IN ('CREATED','RETRY') AND pending_deps = 0 AND dispatched_at IS NULL
               AND (run_after IS NULL OR run_after <= now())
             ORDER BY priority DESC, job_level ASC LIMIT $1 FOR UPDATE SKIP LOCKED) c
       WHERE j.id = c.id
       RETURNING ${CLAIMED_COLUMNS}`,
      [limit],
    );
    return rows.map(claimedOf);
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
