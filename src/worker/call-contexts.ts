import { leaseGuard } from '../state/attempt-guard';
import { createBoundAssetTracker } from './asset-tracker';
import type { Services } from '../services/process-services';
import type { AttemptRef, StartedAttempt } from '../services/engine/attempt.service';
import type { CallContextFactory } from './attempt-call';

/**
 * What this project's workers give each call besides the basics: a RunContext whose writes
 * are checked against this exact attempt (try, dispatch and lease: a lost attempt of the
 * same try cannot write), the task-state clear before a rerun, and the asset tracker.
 */
export function defaultCallContexts(): CallContextFactory {
  return {
    runContext(services: Services, s: StartedAttempt, ref: AttemptRef) {
      return services.taskState.runContextFor(
        { tenantId: s.tenantId, dagName: s.dagName, dagId: s.dagId, taskId: s.taskId, tryNumber: s.tryNumber },
        leaseGuard(services.ds, ref),
      );
    },
    async clearTaskState(services: Services, s: StartedAttempt) {
      await services.taskState.clearTask(s.tenantId, s.dagName, s.dagId, s.taskId);
    },
    assetTracker(services: Services, s: StartedAttempt) {
      return createBoundAssetTracker(services, {
        tenantId: s.tenantId,
        dagId: s.dagId,
        nodeTaskId: s.taskId,
        jobId: s.jobId,
        tryNumber: s.tryNumber,
        upstreamNodeTaskIds: s.upstreamTaskIds,
        partitionKey: s.partitionKey,
      });
    },
  };
}
