import { dagByIdLoader } from '../loaders/dag-by-id.loader';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { jobsByDagLoader } from '../loaders/jobs-by-dag.loader';
import { toDag, toJob, type DagView, type JobView } from '../schema/mappers/dag.mapper';
import { Dag, DagConnection, DagState, JobGroup, JobState } from '../schema/dag.type';
import { SubmitDagInput } from '../schema/inputs/submit-dag.input';
import { Job, JobConnection } from '../schema/job.type';
import { jobGroupsLoader } from '../loaders/job-groups.loader';
import { jobPageLoader } from '../loaders/job-page.loader';
import type { JobGroupView } from '../services/dag.service';
import type { AppContext } from './context';
import { nodeAssetStatusLoader } from '../loaders/node-asset-status.loader';
import { nodeKey } from '../loaders/node-key';
import { NodeAssetStatus } from '../schema/node-asset-status.type';
import type { NodeAssetStatusView } from '../services/assets/asset-views';
import { tenantOf } from './context';
import { connectionOf, mapConnection } from '../lib/pagination';

@Resolver(() => Dag)
export class DagResolver {
  @Authorized('read')
  @Query(() => Dag, { nullable: true })
  async dag(@Arg('id', () => ID) id: string, @Ctx() ctx: AppContext): Promise<DagView | null> {
    // Through the loader: aliased dag(id:) fields of one request are one statement.
    const row = await dagByIdLoader(ctx.loaders).load(id);
    return row ? toDag(row) : null;
  }

  @Authorized('read')
  @Query(() => DagConnection)
  async dags(
    @Ctx() ctx: AppContext,
    @Arg('state', () => DagState, { nullable: true }) state?: DagState,
    @Arg('name', () => String, { nullable: true }) name?: string,
    @Arg('createdAfter', () => Date, { nullable: true }) createdAfter?: Date,
    @Arg('createdBefore', () => Date, { nullable: true }) createdBefore?: Date,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<DagConnection> {
    const page = await ctx.services.dags.list(tenantOf(ctx), {
      state,
      name,
      createdAfter,
      createdBefore,
      first: first ?? 50,
      after,
    });
    const rows = connectionOf(page.rows, page.cursor, {
      hasNextPage: page.hasNext,
      hasPreviousPage: !!after,
      totalCount: page.total,
    });
    return mapConnection(rows, toDag);
  }

  @Authorized('read')
  @Query(() => Job, { nullable: true })
  async job(
    @Arg('dagId', () => ID) dagId: string,
    @Arg('taskId', () => String) taskId: string,
    @Ctx() ctx: AppContext,
  ) {
    const row = await ctx.services.dags.job(tenantOf(ctx), dagId, taskId);
    return row ? toJob(row) : null;
  }

  @Authorized('dag.submit')
  @Mutation(() => Dag)
  async submitDag(@Arg('input', () => SubmitDagInput) input: SubmitDagInput, @Ctx() ctx: AppContext): Promise<DagView> {
    return toDag(await ctx.services.jobCommands.submit(ctx.principal!, input));
  }

  @Authorized('dag.cancel')
  @Mutation(() => Dag)
  async cancelDag(@Arg('id', () => ID) id: string, @Ctx() ctx: AppContext): Promise<DagView> {
    return toDag(await ctx.services.jobCommands.cancelDag(tenantOf(ctx), id));
  }

  @Authorized('dag.cancel')
  @Mutation(() => Job, {
    description: 'Cancel one job: it ends CANCELLED and its descendants SKIPPED; the rest of the DAG goes on.',
  })
  async cancelJob(
    @Arg('dagId', () => ID) dagId: string,
    @Arg('taskId', () => String) taskId: string,
    @Ctx() ctx: AppContext,
  ) {
    return toJob(await ctx.services.jobCommands.cancelJob(tenantOf(ctx), dagId, taskId));
  }

  @Authorized('dag.retry')
  @Mutation(() => Job, {
    description: 'Run a FAILED, EXPIRED or CANCELLED job again (its skipped dependents too) and reopen its DAG.',
  })
  async retryJob(
    @Arg('dagId', () => ID) dagId: string,
    @Arg('taskId', () => String) taskId: string,
    @Ctx() ctx: AppContext,
  ) {
    return toJob(await ctx.services.jobCommands.retryJob(tenantOf(ctx), dagId, taskId));
  }

  @FieldResolver(() => [NodeAssetStatus])
  async assetStatus(@Root() dag: DagView, @Ctx() ctx: AppContext): Promise<NodeAssetStatusView[]> {
    const jobs = await jobsByDagLoader(ctx.loaders).load(dag.id);
    return nodeAssetStatusLoader(ctx.loaders).loadMany(jobs.map((j) => nodeKey(dag.id, j.task_id))) as Promise<
      NodeAssetStatusView[]
    >;
  }

  @FieldResolver(() => [Job])
  async jobs(
    @Root() dag: DagView,
    @Ctx() ctx: AppContext,
    @Arg('state', () => JobState, { nullable: true }) state?: JobState,
  ): Promise<JobView[]> {
    const rows = await jobsByDagLoader(ctx.loaders).load(dag.id);
    return rows.filter((r) => !state || r.state === (state as string)).map(toJob);
  }

  @FieldResolver(() => JobConnection, { description: 'The jobs a page at a time, for big DAGs.' })
  async jobPage(
    @Root() dag: DagView,
    @Ctx() ctx: AppContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100 }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('level', () => Int, { nullable: true }) level?: number | null,
    @Arg('executor', () => String, { nullable: true }) executor?: string | null,
    @Arg('state', () => JobState, { nullable: true }) state?: JobState | null,
  ): Promise<JobConnection> {
    const page = await jobPageLoader(ctx.loaders).load({
      dagId: dag.id,
      first: first ?? null,
      after: after ?? null,
      level: level ?? null,
      executor: executor ?? null,
      state: state ?? null,
    });
    return mapConnection(page, toJob);
  }

  @FieldResolver(() => [JobGroup], { description: 'Counts per (level, executor): how a big DAG is drawn collapsed.' })
  jobGroups(@Root() dag: DagView, @Ctx() ctx: AppContext): Promise<JobGroupView[]> {
    return jobGroupsLoader(ctx.loaders).load(dag.id);
  }
}
