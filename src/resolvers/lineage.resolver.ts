import { Arg, Authorized, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { assetByKeyLoader } from '../loaders/asset-by-key.loader';
import { Asset } from '../schema/asset.type';
import { ImpactReport, LineageDirection, LineageGraph, LineageNode } from '../schema/lineage.type';
import type { AppContext } from './context';
import { tenantOf } from './context';
import type { AssetView, LineageRefView } from '../services/assets/asset-views';
import { LineageRef } from '../schema/materialization.type';
import type { ImpactReportView, LineageGraphView } from '../services/assets/lineage.service';

@Resolver(() => LineageNode)
export class LineageResolver {
  @Authorized('read')
  @Query(() => LineageGraph, { description: 'NOT_FOUND for an unknown asset; depth 1 to 50, else BAD_USER_INPUT.' })
  lineage(
    @Arg('assetKey', () => String) assetKey: string,
    @Ctx() ctx: AppContext,
    @Arg('direction', () => LineageDirection, { nullable: true, defaultValue: LineageDirection.UPSTREAM })
    direction: LineageDirection,
    @Arg('depth', () => Int, { nullable: true, defaultValue: 10 }) depth: number,
    @Arg('first', () => Int, { nullable: true, defaultValue: 500 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<LineageGraphView> {
    return ctx.services.lineage.lineage(
      tenantOf(ctx),
      assetKey,
      direction ?? LineageDirection.UPSTREAM,
      depth ?? 10,
      first ?? 500,
      after ?? null,
    );
  }

  @Authorized('read')
  @Query(() => ImpactReport, { description: 'NOT_FOUND for an unknown asset.' })
  impact(@Arg('assetKey', () => String) assetKey: string, @Ctx() ctx: AppContext): Promise<ImpactReportView> {
    return ctx.services.lineage.impact(tenantOf(ctx), assetKey);
  }

  @FieldResolver(() => Asset, { nullable: true })
  asset(@Root() node: { assetKey: string }, @Ctx() ctx: AppContext): Promise<AssetView | null> {
    return assetByKeyLoader(ctx.loaders).load(node.assetKey);
  }
}

@Resolver(() => LineageGraph)
export class LineageGraphResolver {
  /** Read only when selected (see LineageService.lineage). */
  @FieldResolver(() => [LineageRef], {
    description:
      'Direct upstream inputs of the root (with the versions its latest materialization used), whatever the direction.',
  })
  upstream(@Root() graph: LineageGraphView): Promise<LineageRefView[]> {
    return graph.upstream();
  }

  /** Walked only when selected (see LineageService.lineage). */
  @FieldResolver(() => [String], {
    description: 'Keys of every asset downstream of the root within depth, whatever the direction.',
  })
  downstream(@Root() graph: LineageGraphView): Promise<string[]> {
    return graph.downstream();
  }
}
