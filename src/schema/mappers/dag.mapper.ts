import { dagProgress, slaStatusOf, type DagRow, type DagService, type JobRow } from '../../services/dag.service';
import { AttemptOutcome, Dag } from '../dag.type';
import { Job, type JobAttempt } from '../job.type';

type AttemptRow = Awaited<ReturnType<DagService['attempts']>>[number];

/** Row → GraphQL object. `tenantId` rides along (not a field) for the field resolvers. */
export type DagView = Dag & { tenantId: string };
export type JobView = Job & { tenantId: string };

export function toDag(r: DagRow): DagView {
  return Object.assign(new Dag(), {
    tenantId: r.tenant_id,
    id: r.id,
    name: r.name,
    state: r.state,
    metadata: r.metadata,
    softSla: r.soft_sla,
    hardSla: r.hard_sla,
    slaStatus: slaStatusOf(r),
    submittedBy: r.submitted_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    callback: r.callback_url
      ? {
          url: r.callback_url,
          state: r.callback_state ?? 'PENDING',
          attempts: r.callback_attempts,
          lastError: r.callback_last_error,
          deliveredAt: r.callback_delivered_at,
        }
      : null,
    progress: dagProgress(r),
    savedSeconds: Number(r.saved_seconds ?? 0),
  });
}

export function toJob(r: JobRow): JobView {
  return Object.assign(new Job(), {
    tenantId: r.tenant_id,
    id: r.id,
    taskId: r.task_id,
    dagId: r.dag_id,
    name: r.name,
    executor: r.executor,
    priority: r.priority,
    data: r.data,
    state: r.state,
    jobLevel: r.job_level,
    tryNumber: r.try_number,
    retryLimit: r.retry_limit,
    retryDelay: r.retry_delay,
    retryBackoff: r.retry_backoff,
    startAfter: r.start_after,
    expireInSeconds: r.expire_in_seconds,
    keepUntil: r.keep_until,
    softSla: r.soft_sla,
    hardSla: r.hard_sla,
    requiresGpu: r.requires_gpu,
    partitionKey: r.partition_key,
    concurrencyKey: r.concurrency_key,
    concurrencyLimit: r.concurrency_limit,
    createdAt: r.created_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    output: r.output,
    error: r.error,
    progressPercent: r.progress_percent,
    progressMessage: r.progress_message,
    cacheKey: r.cache_key ?? null,
  });
}

/** An attempt row → its GraphQL object. */
export const toJobAttempt = (r: AttemptRow): JobAttempt => ({
  tryNumber: r.try_number,
  outcome: r.outcome as AttemptOutcome,
  workerId: r.worker_id,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  error: r.error,
  cachedFrom:
    r.cached_from_dag_id != null && r.cached_from_task_id != null && r.cached_from_try != null
      ? { dagId: r.cached_from_dag_id, taskId: r.cached_from_task_id, tryNumber: r.cached_from_try }
      : null,
});
