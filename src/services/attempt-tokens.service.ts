import type { DataSource } from 'typeorm';
import { isAttemptToken, signAttemptToken, verifyAttemptToken, type AttemptTokenClaims } from '../core/attempt-token';
import type { AttemptGrant, Principal } from '../core/policy';
import { conflict, DomainError } from '../errors/domain-error';
import { attemptCondition } from '../repositories/job-leases.repository';
import type { JobRowsRepository } from '../repositories/job-rows.repository';
import type { AttemptKey } from '../repositories/jobs.repository';
import { JobsConditionGuard, type AttemptGuard } from '../state/attempt-guard';
import type { RecordMaterializationsArgs } from './assets/record-materializations.input';

/** An attempt the worker started, as a token names it. */
export interface MintableAttempt {
  tenantId: string;
  jobId: string;
  tryNumber: number;
  dispatch: number;
  /** When the executor call must end; unset: now + DEFAULT_CALL_SECONDS. */
  deadline?: Date | null;
}

/** Query.attempt: what the token's holder is running. */
export interface AttemptContextView {
  dagId: string;
  dagName: string;
  jobId: string;
  taskId: string;
  tryNumber: number;
  partitionKey: string | null;
  endpoint: string;
  deadline: Date;
  cancelled: boolean;
  upstream: Array<{
    assetKey: string;
    version: string;
    partitionKey: string | null;
    uri: string | null;
    nodeTaskId: string;
  }>;
}

/** Where progress of an attempt goes (the attempt service: its lease predicate, any worker). */
export interface ProgressReporter {
  reportProgress(a: AttemptKey, percent: number, message: string | null): Promise<boolean>;
}

/** A remote executor call's default timeout (DESIGN: `timeoutSeconds`, 600). */
export const DEFAULT_CALL_SECONDS = 600;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Attempt tokens: minted by a worker for an attempt it started (a remote executor's Bearer
 * key), authenticated by the API into a principal whose powers are that attempt's.
 */
export class AttemptTokenService {
  constructor(
    private readonly ds: DataSource,
    private readonly jobRows: JobRowsRepository,
    private readonly secret: string,
    /** The lease length: a token outlives its call's deadline by one lease. */
    private readonly leaseMs: number,
    private readonly progress: ProgressReporter,
  ) {}

  /** The token of a started attempt; it expires at its deadline plus one lease length. */
  mint(a: MintableAttempt, nowMs = Date.now()): string {
    const deadlineMs = a.deadline ? a.deadline.getTime() : nowMs + DEFAULT_CALL_SECONDS * 1000;
    const claims: AttemptTokenClaims = {
      t: a.tenantId,
      j: a.jobId,
      n: a.tryNumber,
      d: a.dispatch,
      x: Math.ceil((deadlineMs + this.leaseMs) / 1000),
    };
    return signAttemptToken(claims, this.secret);
  }

  /** Whether `raw` is meant as an attempt token (not an API key). */
  handles(raw: string): boolean {
    return isAttemptToken(raw);
  }

  /**
   * The principal of a valid, unexpired token whose job still exists: the attempt, with the
   * `reader` role on its tenant (policy.ts gives it the attempt's powers). Null otherwise.
   */
  async authenticate(raw: string, nowMs = Date.now()): Promise<Principal | null> {
    const claims = verifyAttemptToken(raw, this.secret, nowMs);
    if (!claims || !UUID.test(claims.t) || !UUID.test(claims.j)) return null;
    const job = await this.jobRows.tokenAttempt(this.ds, claims.t, claims.j);
    if (!job) return null;
    const attempt: AttemptGrant = {
      jobId: claims.j,
      tryNumber: claims.n,
      dispatch: claims.d,
      dagId: job.dagId,
      dagName: job.dagName,
      taskId: job.taskId,
      expiresAt: claims.x * 1000,
    };
    return {
      tenantId: claims.t,
      tenantSlug: job.tenantSlug,
      role: 'reader',
      apiKeyId: `attempt:${claims.j}:${claims.n}:${claims.d}`,
      apiKeyName: `attempt ${job.dagId}/${job.taskId}#${claims.n}`,
      attempt,
    };
  }

  /**
   * Query.attempt: the token's attempt (`cancelled` once its job is CANCELLED) with the
   * latest materializations of its upstream nodes in its DAG. Answers until the token expires.
   */
  async context(tenantId: string, a: AttemptGrant): Promise<AttemptContextView> {
    const [job, upstream] = await Promise.all([
      this.jobRows.attemptJob(this.ds, tenantId, a.jobId),
      this.jobRows.upstreamMaterializations(this.ds, tenantId, a.jobId),
    ]);
    if (!job) throw new DomainError('UNAUTHENTICATED', 'The attempt of this token no longer exists');
    return {
      dagId: a.dagId,
      dagName: a.dagName,
      jobId: a.jobId,
      taskId: a.taskId,
      tryNumber: a.tryNumber,
      partitionKey: job.partitionKey,
      endpoint: job.name,
      deadline: new Date(a.expiresAt - this.leaseMs),
      cancelled: job.state === 'CANCELLED',
      upstream,
    };
  }

  /** reportProgress: the token's (job, try, dispatch) must be the ACTIVE attempt, else CONFLICT. */
  async reportProgress(a: AttemptGrant, percent: number, message: string | null | undefined): Promise<true> {
    const key = { jobId: a.jobId, tryNumber: a.tryNumber, dispatch: a.dispatch, workerId: null };
    if (!(await this.progress.reportProgress(key, percent, message ?? null))) {
      throw conflict(`try ${a.tryNumber} of ${a.dagId}/${a.taskId} is not the current attempt`, {
        reason: 'STALE_ATTEMPT',
      });
    }
    return true;
  }

  /** The guard of a token's state writes: that exact (job, try, dispatch) is ACTIVE. */
  guardFor(a: AttemptGrant): AttemptGuard {
    return new JobsConditionGuard(this.ds, (_ti, n) => attemptCondition(a, n));
  }
}

/**
 * A token's recording: dag, node, job, try and dispatch are the token's; given ones must
 * match (else FORBIDDEN). The recording fence then requires that exact attempt ACTIVE.
 */
export function recordingOfAttempt(a: AttemptGrant, input: RecordMaterializationsArgs): RecordMaterializationsArgs {
  const own: Array<[keyof RecordMaterializationsArgs, unknown]> = [
    ['dagId', a.dagId],
    ['nodeTaskId', a.taskId],
    ['jobId', a.jobId],
    ['tryNumber', a.tryNumber],
  ];
  for (const [field, value] of own) {
    const given = input[field];
    if (given != null && given !== value) {
      throw new DomainError(
        'FORBIDDEN',
        `An attempt token records for its own attempt only: input.${field} is not its ${field}`,
      );
    }
  }
  return {
    ...input,
    dagId: a.dagId,
    nodeTaskId: a.taskId,
    jobId: a.jobId,
    tryNumber: a.tryNumber,
    dispatch: a.dispatch,
  };
}

/** A token writes task state for its own task and try only (else FORBIDDEN). */
export function assertOwnTry(a: AttemptGrant, input: { dagId: string; taskId: string; tryNumber: number }): void {
  if (input.dagId !== a.dagId || input.taskId !== a.taskId || input.tryNumber !== a.tryNumber) {
    throw new DomainError('FORBIDDEN', 'An attempt token writes the task state of its own task and try only');
  }
}

/** A token reads the task state of its own DAG's tasks only, as RunContext reads (else FORBIDDEN). */
export function assertOwnDag(a: AttemptGrant | undefined, dagId: string): void {
  if (a && dagId !== a.dagId) {
    throw new DomainError('FORBIDDEN', 'An attempt token reads the task state of its own DAG only');
  }
}
