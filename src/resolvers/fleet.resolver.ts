import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { Authorized, Ctx, Info, Query, Resolver } from 'type-graphql';
import { QueueStats, Worker } from '../schema/fleet.type';
import type { AppContext } from './context';
import { tenantOf } from './context';

@Resolver()
export class FleetResolver {
  @Authorized('read')
  @Query(() => [Worker], { description: 'The shared worker fleet.' })
  workers(@Ctx() ctx: AppContext): Promise<Worker[]> {
    return ctx.services.fleet.workers();
  }

  @Authorized('read')
  @Query(() => [QueueStats], { description: "Counts of the caller's own jobs per executor." })
  async queues(@Ctx() ctx: AppContext, @Info() info: GraphQLResolveInfo): Promise<QueueStats[]> {
    // `throttled` costs the fair-share counts: read only when it is asked for.
    const wantThrottled = info.fieldNodes.some((n) => selects(n.selectionSet, 'throttled', info));
    const [queues, throttled] = await Promise.all([
      ctx.services.fleet.queues(tenantOf(ctx)),
      wantThrottled ? ctx.services.quota.throttledByExecutor(tenantOf(ctx)) : new Map<string, number>(),
    ]);
    return queues.map((q) => ({ ...q, throttled: throttled.get(q.executor) ?? 0 }));
  }
}

/** Whether a selection set (with its fragments) selects the field `name`. */
function selects(set: SelectionSetNode | undefined, name: string, info: GraphQLResolveInfo): boolean {
  return (set?.selections ?? []).some((s) => {
    if (s.kind === Kind.FIELD) return s.name.value === name;
    if (s.kind === Kind.INLINE_FRAGMENT) return selects(s.selectionSet, name, info);
    return selects(info.fragments[s.name.value]?.selectionSet, name, info);
  });
}
