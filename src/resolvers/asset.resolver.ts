import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { badInput } from '../errors/domain-error';
import { assetDownstreamLoader } from '../loaders/asset-downstream.loader';
import { assetLatestLoader } from '../loaders/asset-latest.loader';
import { assetMaterializationsLoader } from '../loaders/asset-materializations.loader';
import { assetPartitionsLoader } from '../loaders/asset-partitions.loader';
import { assetUpstreamLoader } from '../loaders/asset-upstream.loader';
import { assetWithLatestLoader } from '../loaders/asset-with-latest.loader';
import { Asset, AssetConnection, AssetSummary, PartitionConnection } from '../schema/asset.type';
import { ComputeAssetVersionInput, VersionScheme } from '../schema/inputs/compute-asset-version.input';
import { RegisterAssetInput } from '../schema/inputs/register-asset.input';
import { Materialization, MaterializationConnection } from '../schema/materialization.type';
import type { AppContext } from './context';
import { tenantOf } from './context';
import { computeAssetVersion } from '../core/asset-version';
import type { AssetView } from '../services/assets/asset-views';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

@Resolver(() => Asset)
export class AssetResolver {
  @Authorized('read')
  @Query(() => Asset, { nullable: true })
  asset(@Arg('key', () => String) key: string, @Ctx() ctx: AppContext): Promise<AssetView | null> {
    return assetWithLatestLoader(ctx.loaders).load(key);
  }

  @Authorized('read')
  @Query(() => AssetConnection)
  assets(
    @Ctx() ctx: AppContext,
    @Arg('namespace', () => String, { nullable: true }) namespace?: string | null,
    @Arg('kind', () => String, { nullable: true }) kind?: string | null,
    @Arg('search', () => String, { nullable: true }) search?: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<AssetConnection> {
    return ctx.services.assets.list(tenantOf(ctx), {
      namespace,
      kind,
      search,
      first,
      after,
    });
  }

  @Authorized('read')
  @Query(() => [AssetSummary], {
    description: 'Materialization counts by asset over the last `sinceHours`, most active first.',
  })
  assetSummary(
    @Ctx() ctx: AppContext,
    @Arg('sinceHours', () => Int, { nullable: true, defaultValue: 24 }) sinceHours: number,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100 }) first: number,
  ): Promise<AssetSummary[]> {
    return ctx.services.assets.summary(tenantOf(ctx), sinceHours ?? 24, first ?? 100);
  }

  @Authorized('read')
  @Query(() => String, {
    description: 'Pure function, also exported by the executor SDK: the same inputs give the same version everywhere.',
  })
  computeAssetVersion(@Arg('input', () => ComputeAssetVersionInput) input: ComputeAssetVersionInput): string {
    if (input.payloadBase64.length % 4 !== 0 || !BASE64.test(input.payloadBase64)) {
      throw badInput('input.payloadBase64', 'must be base64');
    }
    return computeAssetVersion({
      payload: Buffer.from(input.payloadBase64, 'base64'),
      codeFingerprint: input.codeFingerprint,
      promptFingerprint: input.promptFingerprint,
      upstreamVersions: input.upstreamVersions ?? [],
      scheme: input.scheme ?? VersionScheme.FRAMED,
    });
  }

  @Authorized('asset.register')
  @Mutation(() => Asset, {
    description:
      "Create or update an asset's registry entry (kind, description, tags) before or after it is materialized.",
  })
  registerAsset(
    @Arg('input', () => RegisterAssetInput) input: RegisterAssetInput,
    @Ctx() ctx: AppContext,
  ): Promise<AssetView> {
    return ctx.services.assets.register(tenantOf(ctx), { ...input });
  }

  @FieldResolver(() => Materialization, { nullable: true })
  latest(
    @Root() asset: AssetView,
    @Ctx() ctx: AppContext,
    @Arg('partitionKey', () => String, { nullable: true }) partitionKey?: string | null,
  ) {
    return assetLatestLoader(ctx.loaders).load({ assetKey: asset.key, partitionKey: partitionKey ?? null });
  }

  @FieldResolver(() => MaterializationConnection)
  materializations(
    @Root() asset: AssetView,
    @Ctx() ctx: AppContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('partitionKey', () => String, { nullable: true }) partitionKey?: string | null,
    @Arg('dagId', () => ID, { nullable: true }) dagId?: string | null,
  ) {
    return assetMaterializationsLoader(ctx.loaders).load({
      assetKey: asset.key,
      first: first ?? 20,
      after: after ?? null,
      partitionKey: partitionKey ?? null,
      dagId: dagId ?? null,
    });
  }

  @FieldResolver(() => PartitionConnection)
  partitions(
    @Root() asset: AssetView,
    @Ctx() ctx: AppContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    return assetPartitionsLoader(ctx.loaders).load({ assetKey: asset.key, first: first ?? 100, after: after ?? null });
  }

  @FieldResolver(() => [Asset], {
    description: 'Assets this one was directly derived from, over all recorded lineage.',
  })
  upstream(@Root() asset: AssetView, @Ctx() ctx: AppContext): Promise<AssetView[]> {
    return assetUpstreamLoader(ctx.loaders).load(asset.key);
  }

  @FieldResolver(() => [Asset], { description: 'Assets directly derived from this one.' })
  downstream(@Root() asset: AssetView, @Ctx() ctx: AppContext): Promise<AssetView[]> {
    return assetDownstreamLoader(ctx.loaders).load(asset.key);
  }
}
