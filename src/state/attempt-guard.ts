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
    const rows: unknown[] = await this.ds.query(
      `SELECT 1 FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND task_id = $3 AND try_number = $4 AND state = 'ACTIVE'`,
      [ti.tenantId, ti.dagId, ti.taskId, ti.tryNumber],
    );
    if (rows.length === 0) throw staleAttempt(ti);
  }
}
