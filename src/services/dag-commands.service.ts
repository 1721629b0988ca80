import type { Principal } from '../server/policy';
import type { Dispatcher } from '../jobs/dispatcher';
import type { SubmitDagInputLike } from './dag-validation';
import type { DagRow, DagService, JobRow } from './dag.service';
import type { JobEngine } from './job-engine';
import { notFound } from '../errors/domain-error';

/**
 * The mutations on DAGs: each is one transaction in DagService / JobEngine, and its side
 * effects (dispatch of ready jobs, cancel broadcasts) happen after that commit.
 */
export class DagCommands {
  constructor(
    private readonly dags: DagService,
    private readonly engine: JobEngine,
    private readonly dispatcher: Dispatcher,
  ) {}

  async submit(principal: Principal, input: SubmitDagInputLike): Promise<DagRow> {
    const { dag, created } = await this.dags.submit(principal, input);
    if (created) {
      await this.dispatcher.kick();
      const later = input.jobs.map((j) => j.startAfter).filter((d): d is Date => !!d && d.getTime() > Date.now());
      for (const d of later) this.dispatcher.kickAt(d);
    }
    return dag;
  }

  async cancelDag(tenantId: string, dagId: string): Promise<DagRow> {
    await this.engine.cancelDag(tenantId, dagId);
    return this.dags.getOrFail(tenantId, dagId);
  }

  async cancelJob(tenantId: string, dagId: string, taskId: string): Promise<JobRow> {
    await this.engine.cancelJob(tenantId, dagId, taskId);
    return this.jobOrFail(tenantId, dagId, taskId);
  }

  async retryJob(tenantId: string, dagId: string, taskId: string): Promise<JobRow> {
    await this.engine.retryJob(tenantId, dagId, taskId);
    await this.dispatcher.kick();
    return this.jobOrFail(tenantId, dagId, taskId);
  }

  private async jobOrFail(tenantId: string, dagId: string, taskId: string): Promise<JobRow> {
    const j = await this.dags.job(tenantId, dagId, taskId);
    if (!j) throw notFound(`job ${taskId} of DAG ${dagId}`);
    return j;
  }
}
