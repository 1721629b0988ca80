import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { notFound } from '../errors/domain-error';
import { assetByKeyLoader } from '../loaders/asset-by-key.loader';
import { materializationByIdLoader } from '../loaders/materialization-by-id.loader';
import { materializationDownstreamLoader } from '../loaders/materialization-downstream.loader';
import { materializationStalenessLoader } from '../loaders/materialization-staleness.loader';
import { materializationUpstreamLoader } from '../loaders/materialization-upstream.loader';
import { Asset } from '../schema/asset.type';
import { RecordMaterializationsInput } from '../schema/inputs/record-materializations.input';
import {
  LineageRef,
  Materialization,
  MaterializationConnection,
  RecordMaterializationsPayload,
  StaleReason,
} from '../schema/materialization.type';
import type { AppContext } from './context';
import { tenantOf } from './context';
import { recordingOfAttempt } from '../services/attempt-tokens.service';
import type { AssetView, LineageRefView, MaterializationView, StaleReasonView } from '../services/assets/asset-views';
import type { RecordOutcome } from '../services/assets/materialization.service';

@Resolver(() => Materialization)
export class MaterializationResolver {
  @Authorized('read')
  @Query(() => Materialization, { nullable: true })
  materialization(@Arg('id', () => ID) id: string, @Ctx() ctx: AppContext): Promise<MaterializationView | null> {
    return materializationByIdLoader(ctx.loaders).load(id);
  }

  @Authorized('read')
  @Query(() => Materialization, {
    nullable: true,
    description: 'The cache look-up: a materialization of exactly this version, if one was recorded.',
  })
  materializationByVersion(
    @Arg('assetKey', () => String) assetKey: string,
    @Arg('version', () => String) version: string,
    @Ctx() ctx: AppContext,
    @Arg('partitionKey', () => String, { nullable: true }) partitionKey?: string | null,
  ): Promise<MaterializationView | null> {
    return ctx.services.materializations.byVersion(tenantOf(ctx), assetKey, version, partitionKey);
  }

  @Authorized('asset.record')
  @Mutation(() => RecordMaterializationsPayload)
  recordMaterializations(
    @Arg('input', () => RecordMaterializationsInput) input: RecordMaterializationsInput,
    @Ctx() ctx: AppContext,
  ): Promise<RecordOutcome> {
    const attempt = ctx.principal?.attempt;
    return ctx.services.materializations.record(tenantOf(ctx), attempt ? recordingOfAttempt(attempt, input) : input);
  }

  @FieldResolver(() => Asset)
  async asset(@Root() m: MaterializationView, @Ctx() ctx: AppContext): Promise<AssetView> {
    const asset = await assetByKeyLoader(ctx.loaders).load(m.assetKey);
    if (!asset) throw notFound(`Asset ${m.assetKey}`);
    return asset;
  }

  @FieldResolver(() => [LineageRef], { description: 'The upstream asset versions recorded with this materialization.' })
  upstream(@Root() m: MaterializationView, @Ctx() ctx: AppContext): Promise<LineageRefView[]> {
    return materializationUpstreamLoader(ctx.loaders).load(m.id);
  }

  @FieldResolver(() => MaterializationConnection, {
    description: 'Materializations that recorded this one as an input.',
  })
  downstream(
    @Root() m: MaterializationView,
    @Ctx() ctx: AppContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    return materializationDownstreamLoader(ctx.loaders).load({ id: m.id, first: first ?? 50, after: after ?? null });
  }

  @FieldResolver(() => Boolean, { description: 'True exactly when staleReasons is not empty.' })
  async isStale(@Root() m: MaterializationView, @Ctx() ctx: AppContext): Promise<boolean> {
    return (await materializationStalenessLoader(ctx.loaders).load(m.id)).length > 0;
  }

  @FieldResolver(() => [StaleReason])
  staleReasons(@Root() m: MaterializationView, @Ctx() ctx: AppContext): Promise<StaleReasonView[]> {
    return materializationStalenessLoader(ctx.loaders).load(m.id);
  }
}
