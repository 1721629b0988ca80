import { Arg, Authorized, Ctx, Float, Mutation, Query, Resolver } from 'type-graphql';
import { AttemptContext } from '../schema/attempt.type';
import type { AttemptContextView } from '../services/attempt-tokens.service';
import type { AppContext } from './context';
import { attemptOf, tenantOf } from './context';

@Resolver()
export class AttemptResolver {
  @Authorized('attempt.read')
  @Query(() => AttemptContext, { description: 'Attempt tokens only: the attempt the token stands for.' })
  attempt(@Ctx() ctx: AppContext): Promise<AttemptContextView> {
    return ctx.services.attemptTokens.context(tenantOf(ctx), attemptOf(ctx));
  }

  @Authorized('attempt.report')
  @Mutation(() => Boolean, { description: 'Attempt tokens only: progress of the running attempt, 0 to 100.' })
  reportProgress(
    @Arg('percent', () => Float) percent: number,
    @Ctx() ctx: AppContext,
    @Arg('message', () => String, { nullable: true }) message?: string | null,
  ): Promise<boolean> {
    return ctx.services.attemptTokens.reportProgress(attemptOf(ctx), percent, message);
  }
}
