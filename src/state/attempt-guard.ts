import type { DataSource } from 'typeorm';
import { conflict } from '../errors/domain-error';
import { currentTryCondition, jobMatches, leaseCondition } from '../repositories/job-leases.repository';
import type { TaskInstanceRef } from './task-instance-ref';

/**
 * Says whether an attempt may still write: every state write asks it first, whatever the
 * backend, so a stale attempt (retried, cancelled, its lease expired and rerun) is refused.
 */
export interface AttemptGuard {
  /** Resolves when `ti` is the current attempt of its job; throws DomainError CONFLICT otherwise. */
  assertCurrent(ti: TaskInstanceRef): Promise<void>;
  /**
   * When the guard is a condition on the `jobs` table of the database a backend writes to:
   * that condition as SQL over `jobs`, its placeholders numbered from `firstParam`, so the
   * backend can fold it into the write (one statement, checked and written atomically).
   */
  jobsCondition?(ti: TaskInstanceRef, firstParam: number): GuardCondition;
}

/** A WHERE condition on `jobs` and its parameters. */
export interface GuardCondition {
  sql: string;
  params: unknown[];
}

export function staleAttempt(ti: TaskInstanceRef): Error {
  return conflict(
    `Task ${ti.taskId} of DAG ${ti.dagId} is not ACTIVE at try ${ti.tryNumber}: this attempt is stale and may not write state`,
    { reason: 'STALE_ATTEMPT', dagId: ti.dagId, taskId: ti.taskId, tryNumber: ti.tryNumber },
  );
}

/**
 * A guard that is a condition on `jobs`: `assertCurrent` runs it as a SELECT; a backend on
 * the same database folds it into its write instead (`jobsCondition`).
 */
export class JobsConditionGuard implements AttemptGuard {
  constructor(
    private readonly ds: DataSource,
    private readonly condition: (ti: TaskInstanceRef, firstParam: number) => GuardCondition,
  ) {}

  async assertCurrent(ti: TaskInstanceRef): Promise<void> {
    if (!(await jobMatches(this.ds, this.condition(ti, 1)))) throw staleAttempt(ti);
  }

  jobsCondition(ti: TaskInstanceRef, firstParam: number): GuardCondition {
    return this.condition(ti, firstParam);
  }
}

/** The attempt is current when its job is ACTIVE at that try, in Postgres (the `jobs` table of the DAG engine). */
export class PostgresAttemptGuard extends JobsConditionGuard {
  constructor(ds: DataSource) {
    super(ds, currentTryCondition);
  }
}

/** Stricter, for our own workers: that exact dispatch of the try, under this worker's lease. */
export function leaseGuard(
  ds: DataSource,
  a: { jobId: string; tryNumber: number; dispatch: number; workerId: string },
): AttemptGuard {
  return new JobsConditionGuard(ds, (_ti, n) => leaseCondition(a, n));
}
