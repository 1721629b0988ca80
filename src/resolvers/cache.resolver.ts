import { Arg, Authorized, Ctx, Int, Mutation, Resolver } from 'type-graphql';
import type { AppContext } from './context';
import { tenantOf } from './context';

@Resolver()
export class CacheResolver {
  @Authorized('cache.invalidate')
  @Mutation(() => Int, {
    description:
      "Submitter role and up: forget the tenant's cache keys of an executor (of one code version, or all); returns how many.",
  })
  async invalidateCache(
    @Arg('executor', () => String) executor: string,
    @Arg('codeVersion', () => String, { nullable: true }) codeVersion: string | null,
    @Ctx() ctx: AppContext,
  ): Promise<number> {
    return ctx.services.cache.invalidate(tenantOf(ctx), executor, codeVersion ?? null);
  }
}
