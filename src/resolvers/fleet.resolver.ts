import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
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
  queues(@Ctx() ctx: AppContext): Promise<QueueStats[]> {
    return ctx.services.fleet.queues(tenantOf(ctx));
  }
}
