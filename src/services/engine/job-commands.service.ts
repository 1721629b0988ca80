import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { Principal } from '../../core/policy';
import { FAILED_JOB_STATES } from '../../core/states';
import { conflict, notFound } from '../../errors/domain-error';
import { appendEvents } from '../../events/event-log';
import type { Dispatcher } from '../../jobs/dispatcher';
import type { DagsRepository } from '../../repositories/dags.repository';
import type { JobsRepository } from '../../repositories/jobs.repository';
import type { SubmitDagInputLike } from '../dag-validation';
import type { DagRow, DagService, JobRow } from '../dag.service';
import type { FleetService } from '../fleet.service';
import { slaEventOf } from '../sla-marks';
import { cancelledOf, queuedOf, transitionOf, type DagTransitions } from './dag-transitions';
import type { AfterCommit, Effects } from './effects';

/**
 * The mutations on DAGs: submit, cancel (a DAG, a job), retry. Each is one transaction;
 * it returns the effects it decided (dispatch of ready jobs, cancel broadcasts, removing
 * cancelled jobs from their queues, the warning about executors nobody hosts), which run
 * after that commit and never hold the answer: a store that is down delays them (the
 * scheduler dispatches what is ready once Redis is back), it does not fail or stall the
 * mutation.
 */
export class JobCommands {
  constructor(
    private readonly ds: DataSource,
    private readonly dags: DagService,
    private readonly dagRows: DagsRepository,
    private readonly jobs: JobsRepository,
    private readonly transitions: DagTransitions,
    private readonly afterCommit: AfterCommit,
    private readonly dispatcher: Dispatcher,
    private readonly fleet: FleetService,
    private readonly log: Logger,
  ) {}

  async submit(principal: Principal, input: SubmitDagInputLike): Promise<DagRow> {
    const { dag, created, executors, statistics } = await this.dags.submit(principal, input);
    if (created) {
      // A big DAG's first dispatch waits for the job tables' fresh planner statistics (so the
      // engine's first statements on its rows are planned with them); the answer does not.
      this.afterCommit.later('dispatch', async () => {
        await statistics?.catch((err: unknown) =>
          this.log.warn({ err: String(err) }, 'refreshing the job tables’ planner statistics failed'),
        );
        await this.afterCommit.apply({ dispatch: true });
      });
      const later = input.jobs.map((j) => j.startAfter).filter((d): d is Date => !!d && d.getTime() > Date.now());
      for (const d of later) this.dispatcher.kickAt(d);
      this.afterCommit.later('unhosted-executors', () => this.warnUnhosted(dag, executors));
    }
    return dag;
  }

  async cancelDag(tenantId: string, dagId: string): Promise<DagRow> {
    this.afterCancel(await this.cancelDagTx(tenantId, dagId));
    return this.dags.getOrFail(tenantId, dagId);
  }

  async cancelJob(tenantId: string, dagId: string, taskId: string): Promise<JobRow> {
    this.afterCancel(await this.cancelJobTx(tenantId, dagId, taskId));
    // A batch that committed after this transaction's count may have ended the DAG's last
    // other open job (without seeing this cancel): whoever commits last settles the DAG.
    await this.transitions.settle(this.ds, [{ tenantId, dagId }]);
    return this.jobOrFail(tenantId, dagId, taskId);
  }

  async retryJob(tenantId: string, dagId: string, taskId: string): Promise<JobRow> {
    await this.retryJobTx(tenantId, dagId, taskId);
    this.afterCommit.later('dispatch', () => this.afterCommit.apply({ dispatch: true }));
    return this.jobOrFail(tenantId, dagId, taskId);
  }

  /** Resolves when the after-commit effects started so far are over (tests, shutdown). */
  async settled(): Promise<void> {
    await this.afterCommit.settled();
  }

  private afterCancel(e: Effects): void {
    this.afterCommit.later('cancel-broadcast', () => this.afterCommit.apply({ cancel: e.cancel }));
    this.afterCommit.later('remove-cancelled', () => this.afterCommit.apply({ dequeue: e.dequeue }));
  }

  /** cancelDag: every open job CANCELLED at once, the DAG CANCELLED. */
  private async cancelDagTx(tenantId: string, dagId: string): Promise<Effects> {
    return this.ds.transaction(async (m) => {
      const state = await this.dagRows.lockState(m, tenantId, dagId);
      if (!state) throw notFound(`DAG ${dagId}`);
      if (state === 'CANCELLED') return {};
      if (state === 'COMPLETED' || state === 'FAILED') throw conflict(`DAG ${dagId} already ended ${state}`);
      const jobs = (await this.jobs.cancelOpen(m, tenantId, dagId, null)).map(cancelledOf);
      await this.transitions.apply(m, tenantId, dagId, jobs, { finalState: 'CANCELLED' });
      return { cancel: jobs.filter((t) => t.from === 'ACTIVE').map((t) => t.jobId), dequeue: queuedOf(jobs) };
    });
  }

  /** cancelJob: CANCELLED at once, its descendants SKIPPED, the rest goes on. */
  private async cancelJobTx(tenantId: string, dagId: string, taskId: string): Promise<Effects> {
    return this.ds.transaction(async (m) => {
      const job = await this.jobs.byTask(m, tenantId, dagId, taskId);
      if (!job) throw notFound(`job ${taskId} of DAG ${dagId}`);
      const cancelled = (await this.jobs.cancelOpen(m, tenantId, dagId, [job.id])).map(cancelledOf);
      if (cancelled.length === 0) throw conflict(`job ${taskId} already ended ${job.state}`);
      const skipped = (await this.jobs.skipDescendants(m, [job.id])).map((s) => transitionOf(s, 'SKIPPED'));
      await this.transitions.apply(m, tenantId, dagId, [...cancelled, ...skipped]);
      return { cancel: cancelled[0].from === 'ACTIVE' ? [job.id] : [], dequeue: queuedOf(cancelled) };
    });
  }

  /**
   * retryJob: a FAILED, EXPIRED or CANCELLED job runs again at the next try with a fresh
   * retry budget; its skipped descendants with no other failed ancestor come back; the
   * DAG reopens. Returns the job id.
   */
  private async retryJobTx(tenantId: string, dagId: string, taskId: string): Promise<string> {
    return this.ds.transaction(async (m) => {
      const state = await this.dagRows.lockState(m, tenantId, dagId);
      if (!state) throw notFound(`DAG ${dagId}`);
      if (state === 'CANCELLED') throw conflict(`DAG ${dagId} was cancelled; it cannot be retried`);
      const job = await this.jobs.byTask(m, tenantId, dagId, taskId, true);
      if (!job) throw notFound(`job ${taskId} of DAG ${dagId}`);
      if (!FAILED_JOB_STATES.includes(job.state))
        throw conflict(`job ${taskId} is ${job.state}; only FAILED, EXPIRED or CANCELLED jobs can be retried`);
      const unskipped = await this.jobs.retry(m, job.id);
      await this.transitions.apply(m, tenantId, dagId, [
        { jobId: job.id, taskId, name: job.name, from: job.state, to: 'RETRY', tryNumber: job.tryNumber + 1 },
        ...unskipped.map((u) => transitionOf(u, 'CREATED')),
      ]);
      return job.id;
    });
  }

  /** Open jobs past an unmarked hard SLA (the SLA sweep's candidates). */
  async jobsPastHardSla(): Promise<
    Array<{ tenantId: string; dagId: string; taskId: string; id: string; hardSla: Date }>
  > {
    return this.jobs.pastHardSla(this.ds);
  }

  /** Open DAGs past an unmarked hard SLA (the SLA sweep's candidates). */
  async dagsPastHardSla(): Promise<Array<{ tenantId: string; id: string; hardSla: Date }>> {
    return this.dagRows.pastHardSla(this.ds);
  }

  /** A job's hard miss: marked with its event, the job cancelled and its descendants skipped. */
  async missJobHardSla(
    j: { tenantId: string; dagId: string; taskId: string; id: string; hardSla: Date },
    at: string,
  ): Promise<Effects> {
    const effects = await this.ds.transaction(async (m): Promise<Effects> => {
      if (!(await this.jobs.markHardMissed(m, j.id))) return {};
      const cancelled = (await this.jobs.cancelOpen(m, j.tenantId, j.dagId, [j.id])).map(cancelledOf);
      const skipped = (
        await this.jobs.skipDescendants(
          m,
          cancelled.map((c) => c.jobId),
        )
      ).map((s) => transitionOf(s, 'SKIPPED'));
      await appendEvents(m, j.tenantId, [slaEventOf(j.dagId, j.taskId, 'HARD_MISSED', j.hardSla, at)]);
      await this.transitions.apply(m, j.tenantId, j.dagId, [...cancelled, ...skipped]);
      return { cancel: cancelled.filter((c) => c.from === 'ACTIVE').map((c) => c.jobId), dequeue: queuedOf(cancelled) };
    });
    await this.transitions.settle(this.ds, [{ tenantId: j.tenantId, dagId: j.dagId }]);
    return effects;
  }

  /** A DAG's hard miss: marked with its event, its open jobs cancelled, the DAG FAILED. */
  async missDagHardSla(d: { tenantId: string; id: string; hardSla: Date }, at: string): Promise<Effects> {
    return this.ds.transaction(async (m) => {
      if (!(await this.dagRows.markHardMissed(m, d.tenantId, d.id))) return {};
      const cancelled = (await this.jobs.cancelOpen(m, d.tenantId, d.id, null)).map(cancelledOf);
      await appendEvents(m, d.tenantId, [slaEventOf(d.id, null, 'HARD_MISSED', d.hardSla, at)]);
      await this.transitions.apply(m, d.tenantId, d.id, cancelled, { finalState: 'FAILED' });
      return { cancel: cancelled.filter((c) => c.from === 'ACTIVE').map((c) => c.jobId), dequeue: queuedOf(cancelled) };
    });
  }

  /** Batches' counter deltas folded into their DAG rows, and those DAGs settled (dag-transitions.ts `compact`). */
  async compactProgress(limit = 100): Promise<number> {
    return this.transitions.compact(this.ds, limit);
  }

  /** Finished DAGs past their keepUntil (or the retention) are deleted; materializations stay. */
  async purgeEnded(limit = 100): Promise<number> {
    return this.dagRows.purge(this.ds, limit);
  }

  /**
   * Jobs for executors that no live, healthy worker hosts (GPU jobs: no such worker with a
   * GPU) wait until one comes: say so, once per DAG.
   */
  private async warnUnhosted(dag: DagRow, jobs: Array<{ executor: string; requiresGpu: boolean }>): Promise<void> {
    const hosted = await this.fleet.hostedExecutors();
    const unhosted: Record<string, number> = {};
    for (const j of jobs) {
      if ((j.requiresGpu ? hosted.gpu : hosted.any).has(j.executor)) continue;
      const name = j.requiresGpu ? `${j.executor} (GPU)` : j.executor;
      unhosted[name] = (unhosted[name] ?? 0) + 1;
    }
    if (Object.keys(unhosted).length === 0) return;
    this.log.warn(
      { tenantId: dag.tenant_id, dagId: dag.id, jobsByExecutor: unhosted },
      `DAG ${dag.id}: no live worker hosts ${Object.keys(unhosted).sort().join(', ')}; those jobs wait until one does`,
    );
  }

  private async jobOrFail(tenantId: string, dagId: string, taskId: string): Promise<JobRow> {
    const j = await this.dags.job(tenantId, dagId, taskId);
    if (!j) throw notFound(`job ${taskId} of DAG ${dagId}`);
    return j;
  }
}
