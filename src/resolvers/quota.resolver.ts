import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { TenantQuota } from '../schema/quota.type';
import type { AppContext } from './context';
import { tenantOf } from './context';

@Resolver()
export class QuotaResolver {
  @Authorized('read')
  @Query(() => TenantQuota, { description: "The caller's tenant's fair-share policy and usage." })
  quota(@Ctx() ctx: AppContext): Promise<TenantQuota> {
    return ctx.services.quota.quota(tenantOf(ctx));
  }
}
