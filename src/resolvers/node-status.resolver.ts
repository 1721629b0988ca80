import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { NodeAssetStatus } from '../schema/node-asset-status.type';
import type { AppContext } from './context';
import { tenantOf } from './context';
import type { NodeAssetStatusView } from '../services/assets/asset-views';

@Resolver(() => NodeAssetStatus)
export class NodeStatusResolver {
  @Authorized('read')
  @Query(() => NodeAssetStatus, { nullable: true })
  nodeStatus(
    @Arg('dagId', () => ID) dagId: string,
    @Arg('nodeTaskId', () => String) nodeTaskId: string,
    @Ctx() ctx: AppContext,
  ): Promise<NodeAssetStatusView | null> {
    return ctx.services.nodeStatus.one(tenantOf(ctx), dagId, nodeTaskId);
  }

  @Authorized('read')
  @Query(() => [NodeAssetStatus])
  dagAssetStatus(@Arg('dagId', () => ID) dagId: string, @Ctx() ctx: AppContext): Promise<NodeAssetStatusView[]> {
    return ctx.services.nodeStatus.forNodes(tenantOf(ctx), dagId);
  }
}
