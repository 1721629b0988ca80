import type { Services } from '../services/process-services';
import type { AttemptRef, StartedAttempt } from '../services/engine/attempt.service';
import type { BoundAssetTracker, ExecutorCallContext, RunContextLike } from '../core/executor-call';

/** Pieces of a call's context that other capabilities provide (asset tracker, RunContext). */
export interface CallContextFactory {
  assetTracker(services: Services, started: StartedAttempt, ref: AttemptRef): BoundAssetTracker;
  runContext?(services: Services, started: StartedAttempt, ref: AttemptRef): RunContextLike | undefined;
  /** Before a rerun (retry or lost lease) the task's earlier state is cleared. */
  clearTaskState?(services: Services, started: StartedAttempt): Promise<void>;
}

const unavailableTracker = (started: StartedAttempt): BoundAssetTracker => ({
  dagId: started.dagId,
  nodeTaskId: started.taskId,
  upstream: async () => [],
  record: async () => ({
    ok: false,
    materializationIds: [],
    alreadyRecorded: 0,
    error: 'asset tracking is not configured',
  }),
});

export const isNonRetryable = (err: unknown): boolean =>
  !!err && typeof err === 'object' && (err as { nonRetryable?: unknown }).nonRetryable === true;

/** The executor did not start the job (core/executor-call.ts NotStartedError): hand it back. */
export const isNotStarted = (err: unknown): boolean =>
  !!err && typeof err === 'object' && (err as { notStarted?: unknown }).notStarted === true;

/** The context an executor's call gets for one started attempt. */
export function callContext(
  services: Services,
  contexts: CallContextFactory | null,
  started: StartedAttempt,
  ref: AttemptRef,
  signal: AbortSignal,
  apiUrl: string | undefined,
): ExecutorCallContext {
  return {
    tenantId: started.tenantId,
    dagId: started.dagId,
    dagName: started.dagName,
    jobId: started.jobId,
    taskId: started.taskId,
    tryNumber: started.tryNumber,
    partitionKey: started.partitionKey,
    endpoint: started.name,
    signal,
    progress: async (percent, message) => {
      await services.attempts.reportProgress(ref, percent, message ?? null);
    },
    assets: contexts?.assetTracker(services, started, ref) ?? unavailableTracker(started),
    runContext: contexts?.runContext?.(services, started, ref),
    dispatch: started.dispatch,
    apiUrl,
    attemptToken: (deadline) =>
      services.attemptTokens.mint({
        tenantId: started.tenantId,
        jobId: started.jobId,
        tryNumber: started.tryNumber,
        dispatch: started.dispatch,
        deadline,
      }),
  };
}
