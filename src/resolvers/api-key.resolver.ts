import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { ACTIONS, assertAllowed, isAllowed, type Action } from '../core/policy';
import { ApiKey, CreateApiKeyInput, CreatedApiKey, Role, Viewer } from '../schema/api-key.type';
import type { AppContext } from './context';
import { tenantOf } from './context';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Authorized('read')
  @Query(() => Viewer, { description: 'Who is calling: what a dashboard may offer this key.' })
  me(@Ctx() ctx: AppContext): Viewer {
    const principal = assertAllowed(ctx.principal, 'read');
    const actions = Object.keys(ACTIONS) as Action[];
    return {
      keyName: principal.apiKeyName,
      tenant: principal.tenantSlug,
      role: principal.role as Role,
      allowed: actions.filter((a) => isAllowed(principal, a)),
    };
  }

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
