import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { dagByIdLoader } from '../loaders/dag-by-id.loader';
import { jobAttemptsLoader } from '../loaders/job-attempts.loader';
import { jobDependenciesLoader, jobDependentsLoader } from '../loaders/job-relations.loader';
import { notFound } from '../errors/domain-error';
import { toDag, toJob, toJobAttempt, type DagView, type JobView } from '../schema/mappers/dag.mapper';
import { Dag } from '../schema/dag.type';
import { Job, JobAttempt } from '../schema/job.type';
import type { AppContext } from './context';
import { materializationsByNodeLoader } from '../loaders/materializations-by-node.loader';
import { nodeAssetStatusLoader } from '../loaders/node-asset-status.loader';
import { nodeKey } from '../loaders/node-key';
import { Materialization } from '../schema/materialization.type';
import { NodeAssetStatus } from '../schema/node-asset-status.type';
import type { MaterializationView, NodeAssetStatusView } from '../services/assets/asset-views';
import { TaskStateEntry } from '../schema/task-state.type';
import { taskStateByTask, taskStateKey } from '../loaders/task-state-by-task.loader';
import type { StateEntry } from '../state';
import { assertOwnDag } from '../services/attempt-tokens.service';

@Resolver(() => Job)
export class JobResolver {
  @FieldResolver(() => Dag)
  async dag(@Root() job: JobView, @Ctx() ctx: AppContext): Promise<DagView> {
    const row = await dagByIdLoader(ctx.loaders).load(job.dagId);
    if (!row) throw notFound(`DAG ${job.dagId}`);
    return toDag(row);
  }

  @FieldResolver(() => [Job])
  async dependencies(@Root() job: JobView, @Ctx() ctx: AppContext): Promise<JobView[]> {
    return (await jobDependenciesLoader(ctx.loaders).load(job.id)).map(toJob);
  }

  @FieldResolver(() => [Job])
  async dependents(@Root() job: JobView, @Ctx() ctx: AppContext): Promise<JobView[]> {
    return (await jobDependentsLoader(ctx.loaders).load(job.id)).map(toJob);
  }

  @FieldResolver(() => NodeAssetStatus)
  assetStatus(@Root() job: JobView, @Ctx() ctx: AppContext): Promise<NodeAssetStatusView> {
    return nodeAssetStatusLoader(ctx.loaders).load(nodeKey(job.dagId, job.taskId));
  }

  @FieldResolver(() => [Materialization])
  materializations(@Root() job: JobView, @Ctx() ctx: AppContext): Promise<MaterializationView[]> {
    return materializationsByNodeLoader(ctx.loaders).load(nodeKey(job.dagId, job.taskId));
  }

  @FieldResolver(() => [TaskStateEntry], { description: 'The key-value state the task stored in its latest try.' })
  taskState(@Root() job: JobView, @Ctx() ctx: AppContext): Promise<StateEntry[]> {
    assertOwnDag(ctx.principal?.attempt, job.dagId);
    return taskStateByTask(ctx.loaders).load(taskStateKey(job.dagId, job.taskId));
  }

  @FieldResolver(() => [JobAttempt], { description: 'Every attempt, oldest first.' })
  attempts(@Root() job: JobView, @Ctx() ctx: AppContext): Promise<JobAttempt[]> {
    return jobAttemptsLoader(ctx.loaders)
      .load(job.id)
      .then((rows) => rows.map(toJobAttempt));
  }
}
