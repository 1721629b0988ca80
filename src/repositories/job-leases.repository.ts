import { rows as sqlRows, type SqlRunner } from '../db/sql';

/**
 * The lease predicate, written once: that exact dispatch of the try is ACTIVE under this
 * worker's lease. Arguments are SQL expressions (placeholders or columns); `alias` prefixes
 * the `jobs` columns; `nullableWorker` lets a null worker (the scheduler) pass the owner check.
 *
 * The state test reads `(state = 'ACTIVE') IS TRUE` (the same, `state` is never null) so
 * that the planner cannot prove `jobs_inflight_idx`'s predicate from it: a guarded statement
 * finds its jobs by id, through the primary key. With `state = 'ACTIVE'` a batch of
 * completions was planned on that partial index whenever its statistics dated from before
 * a large claim (a fan-out's root claims thousands of children at once): the statement then
 * read every in-flight job to find the batch's (test/lease-plan.test.ts).
 */
export function leaseHeld(
  id: string,
  tryNumber: string,
  dispatch: string,
  worker: string,
  opts: { alias?: string; nullableWorker?: boolean } = {},
): string {
  const j = opts.alias ? `${opts.alias}.` : '';
  const owner = opts.nullableWorker
    ? `(${worker}::text IS NULL OR ${j}lease_owner = ${worker})`
    : `${j}lease_owner = ${worker}`;
  return `${j}id = ${id} AND ${j}try_number = ${tryNumber} AND ${j}dispatch = ${dispatch} AND ${owner} AND (${j}state = 'ACTIVE') IS TRUE`;
}

/** A WHERE condition on `jobs` and its parameters (a state backend folds it into its write). */
export interface JobsCondition {
  sql: string;
  params: unknown[];
}

/** `$n, $n+1, …` for `count` parameters. */
const placeholders = (firstParam: number, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `$${firstParam + i}`);

/** The task's job is ACTIVE at that try (any dispatch, any worker); placeholders from `firstParam`. */
export function currentTryCondition(
  ti: { tenantId: string; dagId: string; taskId: string; tryNumber: number },
  firstParam: number,
): JobsCondition {
  const [a, b, c, d] = placeholders(firstParam, 4);
  return {
    sql: `tenant_id = ${a} AND dag_id = ${b} AND task_id = ${c} AND try_number = ${d} AND state = 'ACTIVE'`,
    params: [ti.tenantId, ti.dagId, ti.taskId, ti.tryNumber],
  };
}

/** That exact dispatch of the try, under this worker's lease (the lease predicate); placeholders from `firstParam`. */
export function leaseCondition(
  a: { jobId: string; tryNumber: number; dispatch: number; workerId: string },
  firstParam: number,
): JobsCondition {
  const [id, t, d, w] = placeholders(firstParam, 4);
  return { sql: leaseHeld(id, t, d, w), params: [a.jobId, a.tryNumber, a.dispatch, a.workerId] };
}

/** That exact dispatch of the try is ACTIVE, whichever worker holds it (an attempt token's writes). */
export function attemptCondition(
  a: { jobId: string; tryNumber: number; dispatch: number },
  firstParam: number,
): JobsCondition {
  const [id, t, d, w] = placeholders(firstParam, 4);
  return { sql: leaseHeld(id, t, d, w, { nullableWorker: true }), params: [a.jobId, a.tryNumber, a.dispatch, null] };
}

/** SQL: a job matching the condition exists (share-locked), to fold into another table's write. */
export const jobExistsSql = (conditionSql: string): string =>
  `EXISTS (SELECT 1 FROM jobs WHERE ${conditionSql} FOR SHARE)`;

/** Whether a job matches `c` (numbered from $1). */
export async function jobMatches(m: SqlRunner, c: JobsCondition): Promise<boolean> {
  const rows: unknown[] = await sqlRows(m, `SELECT 1 FROM jobs WHERE ${c.sql}`, c.params);
  return rows.length > 0;
}
