import type { DataSource } from 'typeorm';
import { conflict } from '../errors/domain-error';
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

/** The attempt is current when its job is ACTIVE at that try, in Postgres (the `jobs` table of the DAG engine). */
export class PostgresAttemptGuard implements AttemptGuard {
  constructor(private readonly ds: DataSource) {}

  async assertCurrent(ti: TaskInstanceRef): Promise<void> {
    const c = this.jobsCondition(ti, 1);
    const rows: unknown[] = await this.ds.query(`SELECT 1 FROM jobs WHERE ${c.sql}`, c.params);
    if (rows.length === 0) throw staleAttempt(ti);
  }

  jobsCondition(ti: TaskInstanceRef, firstParam: number): GuardCondition {
    const [a, b, c, d] = [0, 1, 2, 3].map((i) => `$${firstParam + i}`);
    return {
      sql: `tenant_id = ${a} AND dag_id = ${b} AND task_id = ${c} AND try_number = ${d} AND state = 'ACTIVE'`,
      params: [ti.tenantId, ti.dagId, ti.taskId, ti.tryNumber],
    };
  }
}
