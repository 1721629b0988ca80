import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { ApiKey, CreateApiKeyInput, CreatedApiKey, Role } from '../schema/api-key.type';
import type { AppContext } from './context';
import { tenantOf } from './context';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Authorized('apikey.manage')
  @Query(() => [ApiKey], { description: 'Admin role.' })
  apiKeys(@Ctx() ctx: AppContext): Promise<ApiKey[]> {
    return ctx.services.apiKeys.list(tenantOf(ctx)) as Promise<ApiKey[]>;
  }

  @Authorized('apikey.manage')
  @Mutation(() => CreatedApiKey, { description: 'Admin role. The key itself is returned once, here.' })
  createApiKey(
    @Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput,
    @Ctx() ctx: AppContext,
  ): Promise<CreatedApiKey> {
    return ctx.services.apiKeys.create(tenantOf(ctx), input.name, input.role) as Promise<CreatedApiKey>;
  }

  @Authorized('apikey.manage')
  @Mutation(() => ApiKey, { description: 'Admin role. Its open subscriptions are closed at once.' })
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: AppContext): Promise<ApiKey> {
    return ctx.services.apiKeys.revoke(tenantOf(ctx), id) as Promise<ApiKey>;
  }
}

// The enum's values are the roles' names in the database, so entities serialize as they are.
export const ROLE_ENUM = Role;
