import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { SetTaskStateInput, TaskStateEntry } from '../schema/task-state.type';
import type { AppContext } from './context';
import { tenantOf } from './context';
import { assertOwnDag, assertOwnTry } from '../services/attempt-tokens.service';

@Resolver(() => TaskStateEntry)
export class TaskStateResolver {
  @Authorized('read')
  @Query(() => [TaskStateEntry])
  taskState(
    @Arg('dagId', () => ID) dagId: string,
    @Arg('taskId', () => String) taskId: string,
    @Arg('tryNumber', () => Int, { nullable: true }) tryNumber: number | null | undefined,
    @Ctx() ctx: AppContext,
  ): Promise<TaskStateEntry[]> {
    assertOwnDag(ctx.principal?.attempt, dagId);
    return ctx.services.taskState.list(tenantOf(ctx), dagId, taskId, tryNumber);
  }

  @Authorized('state.write')
  @Mutation(() => TaskStateEntry, {
    description:
      "For executors that run outside this project's workers (e.g. Python Marie executors): the same store RunContext writes.",
  })
  setTaskState(
    @Arg('input', () => SetTaskStateInput) input: SetTaskStateInput,
    @Ctx() ctx: AppContext,
  ): Promise<TaskStateEntry> {
    const attempt = ctx.principal?.attempt;
    if (!attempt) return ctx.services.taskState.set(tenantOf(ctx), input);
    assertOwnTry(attempt, input);
    return ctx.services.taskState.set(
      tenantOf(ctx),
      input,
      attempt.dagName,
      ctx.services.attemptTokens.guardFor(attempt),
    );
  }
}
