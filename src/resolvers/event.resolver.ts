import { Arg, Authorized, Ctx, FieldResolver, ID, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import { notFound } from '../errors/domain-error';
import { SLOW_CONSUMER_CLOSE, type EventFilter } from '../events/subscription.service';
import { dagByIdLoader } from '../loaders/dag-by-id.loader';
import { jobsByDagLoader } from '../loaders/jobs-by-dag.loader';
import { materializationByIdLoader } from '../loaders/materialization-by-id.loader';
import { toDag, toJob, type DagView, type JobView } from '../schema/mappers/dag.mapper';
import { Dag } from '../schema/dag.type';
import {
  AssetMaterializedEvent,
  DagEvent,
  IncompleteAssetsEvent,
  JobEvent,
  SlaEvent,
  type EventView,
} from '../schema/event.type';
import { toEventViews } from '../schema/mappers/event.mapper';
import { Job } from '../schema/job.type';
import { Materialization } from '../schema/materialization.type';
import { tenantOf, type AppContext } from './context';
import type { MaterializationView } from '../services/assets/asset-views';

type Args = Record<string, string | null | undefined>;

/** The `subscribe` of each field: the caller's tenant stream, filtered as `filter` says. */
const events =
  (filter: (args: Args) => EventFilter) =>
  async ({ args, context }: SubscribeResolverData<unknown, Args, AppContext>): Promise<AsyncIterable<EventView>> =>
    toEventViews(
      await context.services.events.open(tenantOf(context), filter(args), args.after, {
        onOverflow: () => context.closeSocket?.(SLOW_CONSUMER_CLOSE.code, SLOW_CONSUMER_CLOSE.reason),
      }),
    );

/**
 * The contract's subscriptions. Each field's `subscribe` opens a stream on the process's
 * tenant listener (src/events/subscription.service.ts), mapped to GraphQL objects built once
 * per event (schema/mappers/event.mapper.ts); the field itself returns the shared object. The WebSocket server runs each distinct operation once per event
 * and sends that result to every subscriber of it (src/server/ws.ts, shared-subscribe.ts).
 */
@Resolver()
export class EventResolver {
  @Authorized('read')
  @Query(() => String, {
    description:
      "The end of the caller's event log now. Read it in the same request as the state you show, then subscribe with after: it, and no event is missed.",
  })
  eventCursor(@Ctx() ctx: AppContext): Promise<string> | string {
    // Read before execution started when the operation came through the server (event-cursor.ts).
    return ctx.eventCursor ?? ctx.services.events.cursor(tenantOf(ctx));
  }

  @Authorized('subscribe')
  @Subscription(() => DagEvent, {
    description: 'Every state change of one DAG, or of every DAG of the tenant when dagId is absent.',
    subscribe: events((a) => ({ type: 'DAG', dagId: a.dagId })),
  })
  dagStatusChanged(
    @Root() event: DagEvent,
    @Arg('dagId', () => ID, { nullable: true }) _dagId?: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): DagEvent {
    return event;
  }

  @Authorized('subscribe')
  @Subscription(() => JobEvent, { subscribe: events((a) => ({ type: 'JOB', dagId: a.dagId })) })
  jobStatusChanged(
    @Root() event: JobEvent,
    @Arg('dagId', () => ID) _dagId: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): JobEvent {
    return event;
  }

  @Authorized('subscribe')
  @Subscription(() => DagEvent, {
    subscribe: events((a) => ({ type: 'DAG', terminal: true, name: a.name })),
  })
  dagCompleted(
    @Root() event: DagEvent,
    @Arg('name', () => String, { nullable: true }) _name?: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): DagEvent {
    return event;
  }

  @Authorized('subscribe')
  @Subscription(() => AssetMaterializedEvent, {
    subscribe: events((a) => ({ type: 'ASSET_MATERIALIZED', assetKey: a.assetKey, namespace: a.namespace })),
  })
  assetMaterialized(
    @Root() event: AssetMaterializedEvent,
    @Arg('assetKey', () => String, { nullable: true }) _assetKey?: string,
    @Arg('namespace', () => String, { nullable: true }) _namespace?: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): AssetMaterializedEvent {
    return event;
  }

  @Authorized('subscribe')
  @Subscription(() => IncompleteAssetsEvent, {
    subscribe: events((a) => ({ type: 'ASSETS_INCOMPLETE', dagId: a.dagId })),
  })
  assetsIncomplete(
    @Root() event: IncompleteAssetsEvent,
    @Arg('dagId', () => ID, { nullable: true }) _dagId?: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): IncompleteAssetsEvent {
    return event;
  }

  @Authorized('subscribe')
  @Subscription(() => SlaEvent, { subscribe: events((a) => ({ type: 'SLA', dagId: a.dagId })) })
  slaMissed(
    @Root() event: SlaEvent,
    @Arg('dagId', () => ID, { nullable: true }) _dagId?: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): SlaEvent {
    return event;
  }
}

async function dagOf(ctx: AppContext, dagId: string): Promise<DagView | null> {
  const row = await dagByIdLoader(ctx.loaders).load(dagId);
  return row ? toDag(row) : null;
}

async function jobOf(ctx: AppContext, dagId: string, taskId: string | null): Promise<JobView | null> {
  if (taskId == null) return null;
  const row = (await jobsByDagLoader(ctx.loaders).load(dagId)).find((j) => j.task_id === taskId);
  return row ? toJob(row) : null;
}

@Resolver(() => DagEvent)
export class DagEventResolver {
  @FieldResolver(() => Dag, { nullable: true })
  dag(@Root() e: DagEvent, @Ctx() ctx: AppContext): Promise<DagView | null> {
    return dagOf(ctx, e.dagId);
  }
}

@Resolver(() => JobEvent)
export class JobEventResolver {
  @FieldResolver(() => Job, { nullable: true })
  job(@Root() e: JobEvent, @Ctx() ctx: AppContext): Promise<JobView | null> {
    return jobOf(ctx, e.dagId, e.taskId);
  }
}

@Resolver(() => SlaEvent)
export class SlaEventResolver {
  @FieldResolver(() => Dag, { nullable: true })
  dag(@Root() e: SlaEvent, @Ctx() ctx: AppContext): Promise<DagView | null> {
    return dagOf(ctx, e.dagId);
  }

  @FieldResolver(() => Job, { nullable: true })
  job(@Root() e: SlaEvent, @Ctx() ctx: AppContext): Promise<JobView | null> {
    return jobOf(ctx, e.dagId, e.taskId);
  }
}

@Resolver(() => AssetMaterializedEvent)
export class AssetMaterializedEventResolver {
  @FieldResolver(() => Materialization)
  async materialization(@Root() e: AssetMaterializedEvent, @Ctx() ctx: AppContext): Promise<MaterializationView> {
    const m = await materializationByIdLoader(ctx.loaders).load(e.materializationId);
    if (!m) throw notFound(`Materialization ${e.materializationId}`);
    return m;
  }
}
