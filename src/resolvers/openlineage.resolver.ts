import { Arg, Authorized, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { badInput } from '../errors/domain-error';
import { assetOpenLineageLoader } from '../loaders/asset-openlineage.loader';
import { Asset } from '../schema/asset.type';
import { OpenLineageDataset } from '../schema/openlineage.type';
import { JSONScalar } from '../schema/scalars';
import type { AssetView } from '../services/assets/asset-views';
import type { AppContext } from './context';
import { tenantOf } from './context';

/** OpenLineage reads: the dataset behind an asset, and a run's raw events. */
@Resolver(() => Asset)
export class OpenLineageResolver {
  @FieldResolver(() => OpenLineageDataset, {
    nullable: true,
    description: 'The OpenLineage dataset this asset stands for, when it came from OpenLineage.',
  })
  async openLineage(@Root() asset: AssetView, @Ctx() ctx: AppContext): Promise<OpenLineageDataset | null> {
    const d = await assetOpenLineageLoader(ctx.loaders).load(asset.key);
    return d ? { namespace: d.namespace, name: d.name } : null;
  }

  @Authorized('read')
  @Query(() => [JSONScalar], { description: 'The raw OpenLineage events stored for one run, oldest first.' })
  openLineageEvents(@Arg('runId', () => ID) runId: string, @Ctx() ctx: AppContext): Promise<unknown[]> {
    if (runId.length < 1 || runId.length > 255 || runId.includes('\0')) {
      throw badInput('runId', 'must be 1 to 255 characters');
    }
    return ctx.services.openLineage.eventsOfRun(tenantOf(ctx), runId);
  }
}
