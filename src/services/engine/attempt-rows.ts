import type { ClaimedDispatch } from '../../repositories/job-dispatch.repository';
import type { StartedRow } from '../../repositories/job-attempts.repository';
import type { AttemptRef, JobRef } from '../../repositories/jobs.repository';
import type { Transition } from './dag-transitions';
import type { Effects } from './effects';

/** The attempt lifecycle's values: what a start and a completion give back, and their transitions. */

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
  /** Its cache policy (DESIGN.md "Memoised execution"). */
  cache: { enabled: boolean; ttlSeconds: number | null; key: string | null };
}

/** What a completion reports: whether it counted, and (on one completion per batch) what became ready. */
export interface Completion {
  accepted: boolean;
  readyJobIds: string[];
  claimed: ClaimedDispatch[];
  /** The job had a concurrency key: its completion frees a slot of that key. */
  freedKey: boolean;
}

/** A failed attempt's outcome, and what is left to do after commit. */
export interface FailOutcome {
  accepted: boolean;
  retryAt: Date | null;
  effects: Effects;
}

export type BatchItem =
  { kind: 'start'; ref: AttemptRef } | { kind: 'complete'; ref: AttemptRef; outputJson: string | null };
export type BatchResult = StartedAttempt | null | Completion;

/** A completion's transition, as the DAG transitions apply it. */
export const completeTransition = (r: JobRef): Transition => ({
  jobId: r.id,
  taskId: r.taskId,
  name: r.name,
  from: 'ACTIVE',
  to: 'COMPLETED',
  tryNumber: r.tryNumber,
  progressPercent: 100,
});

export const startedOf = (r: StartedRow): StartedAttempt => ({
  jobId: r.id,
  tenantId: r.tenantId,
  dagId: r.dagId,
  dagName: r.dagName,
  taskId: r.taskId,
  name: r.name,
  executor: r.executor,
  tryNumber: r.tryNumber,
  dispatch: r.dispatch,
  data: r.data,
  partitionKey: r.partitionKey,
  isRerun: r.tryNumber > 1 || r.dispatch > 1,
  upstreamTaskIds: r.upstream,
  cache: r.cache,
});

export const keyOf = (r: { jobId: string; tryNumber: number; dispatch: number }) =>
  `${r.jobId}.${r.tryNumber}.${r.dispatch}`;
