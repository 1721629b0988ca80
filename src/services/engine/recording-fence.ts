import { conflict } from '../../errors/domain-error';
import type { JobsRepository } from '../../repositories/jobs.repository';
import type { ServiceTxHandlers } from '../tx-events';

/**
 * The recording fence, before materializations are recorded (in their transaction): a
 * recording for a node of one of our DAGs must come from its current ACTIVE attempt,
 * named by its tryNumber or by the Job.id our workers send. Outside systems may record
 * assets for nodes that are not ours.
 */
export function registerRecordingFence(handlers: ServiceTxHandlers, jobs: JobsRepository): void {
  handlers.on('materializations.recording', async (m, { tenantId, input }) => {
    if (!input.dagId || !input.nodeTaskId) return;
    const job = await jobs.nodeAttempt(m, tenantId, input.dagId, input.nodeTaskId);
    if (!job) return; // not one of ours: outside systems may record assets too
    // A node of one of our DAGs: only its current ACTIVE attempt may record, named by its
    // tryNumber or by the Job.id our workers send (a recording that names neither is fenced too).
    const node = `${input.dagId}/${input.nodeTaskId}`;
    if (input.tryNumber == null && input.jobId == null) {
      throw conflict(
        `${node} is a node of a DAG of this control plane: name its current attempt (tryNumber or jobId)`,
        {
          field: 'input.tryNumber',
        },
      );
    }
    if (input.tryNumber != null && (job.state !== 'ACTIVE' || job.tryNumber !== input.tryNumber)) {
      throw conflict(`try ${input.tryNumber} of ${node} is not the current attempt`, { field: 'input.tryNumber' });
    }
    if (input.jobId != null && (job.state !== 'ACTIVE' || job.id !== input.jobId)) {
      throw conflict(`job ${input.jobId} is not the current attempt of ${node}`, { field: 'input.jobId' });
    }
    if (input.dispatch != null && (job.state !== 'ACTIVE' || job.dispatch !== input.dispatch)) {
      throw conflict(`this attempt token's dispatch of ${node} is not the current attempt`, {
        reason: 'STALE_ATTEMPT',
      });
    }
  });
}
