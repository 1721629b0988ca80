import type { Logger } from 'pino';
import type { Principal } from '../core/policy';
import type { Dispatcher, QueuedDispatch } from '../jobs/dispatcher';
import type { SubmitDagInputLike } from './dag-validation';
import type { DagRow, DagService, JobRow } from './dag.service';
import type { FleetService } from './fleet.service';
import type { JobEngine } from './job-engine';
import { notFound } from '../errors/domain-error';

/**
 * The mutations on DAGs: each is one transaction in DagService / JobEngine. Its side
 * effects (dispatch of ready jobs, cancel broadcasts, removing cancelled jobs from their
 * queues, the warning about executors nobody hosts) run after that commit and never hold
 * the answer: a store that is down delays them (the scheduler dispatches what is ready
 * once Redis is back), it does not fail or stall the mutation.
 */
export class DagCommands {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly dags: DagService,
    private readonly engine: JobEngine,
    private readonly dispatcher: Dispatcher,
    private readonly fleet: FleetService,
    private readonly log: Logger,
  ) {}

  async submit(principal: Principal, input: SubmitDagInputLike): Promise<DagRow> {
    const { dag, created, executors } = await this.dags.submit(principal, input);
    if (created) {
      this.afterCommit('dispatch', () => this.dispatcher.kick());
      const later = input.jobs.map((j) => j.startAfter).filter((d): d is Date => !!d && d.getTime() > Date.now());
      for (const d of later) this.dispatcher.kickAt(d);
      this.afterCommit('unhosted-executors', () => this.warnUnhosted(dag, executors));
    }
    return dag;
  }

  async cancelDag(tenantId: string, dagId: string): Promise<DagRow> {
    this.afterCancel(await this.engine.cancelDag(tenantId, dagId));
    return this.dags.getOrFail(tenantId, dagId);
  }

  async cancelJob(tenantId: string, dagId: string, taskId: string): Promise<JobRow> {
    this.afterCancel(await this.engine.cancelJob(tenantId, dagId, taskId));
    return this.jobOrFail(tenantId, dagId, taskId);
  }

  async retryJob(tenantId: string, dagId: string, taskId: string): Promise<JobRow> {
    await this.engine.retryJob(tenantId, dagId, taskId);
    this.afterCommit('dispatch', () => this.dispatcher.kick());
    return this.jobOrFail(tenantId, dagId, taskId);
  }

  /** Resolves when the after-commit effects started so far are over (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private afterCancel(r: { activeJobIds: string[]; queued: QueuedDispatch[] }): void {
    this.afterCommit('cancel-broadcast', () => this.engine.broadcastCancel(r.activeJobIds));
    this.afterCommit('remove-cancelled', () => this.dispatcher.removeQueued(r.queued));
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

  private afterCommit(name: string, effect: () => Promise<void>): void {
    const p = effect()
      .catch((err: unknown) => this.log.warn({ err: String(err), effect: name }, 'after-commit effect failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async jobOrFail(tenantId: string, dagId: string, taskId: string): Promise<JobRow> {
    const j = await this.dags.job(tenantId, dagId, taskId);
    if (!j) throw notFound(`job ${taskId} of DAG ${dagId}`);
    return j;
  }
}
