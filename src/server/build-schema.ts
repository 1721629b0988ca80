import 'reflect-metadata';
import { GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchemaSync, type AuthChecker, type PubSub } from 'type-graphql';
import { RESOLVERS } from '../resolvers';
import type { AppContext } from '../resolvers/context';
import { assertAllowed, isAction } from '../core/policy';
import { BigIntScalar, DateTimeScalar, JSONScalar } from '../schema/scalars';

/** type-graphql's auth checker: every @Authorized(action) goes through the policy module. */
export const authChecker: AuthChecker<AppContext> = ({ context }, actions) => {
  for (const action of actions) {
    if (!isAction(action)) throw new Error(`unknown action ${action}`);
    assertAllowed(context.principal, action);
  }
  if (actions.length === 0) assertAllowed(context.principal, 'read');
  return true;
};

/**
 * type-graphql insists on a PubSub once a schema has subscriptions. Ours bring their own
 * `subscribe` (src/events/subscription.service.ts), so topics are a programming error.
 */
const noTopics: PubSub = {
  publish: () => {
    throw new Error('subscriptions use their own subscribe; there is no topic PubSub');
  },
  subscribe: () => {
    throw new Error('subscriptions use their own subscribe; there is no topic PubSub');
  },
};

let cached: GraphQLSchema | undefined;

export function buildAppSchema(): GraphQLSchema {
  if (cached) return cached;
  const built = buildSchemaSync({
    resolvers: RESOLVERS,
    // Input types of the contract that no argument of this branch names yet (JobInput will).
    scalarsMap: [
      { type: Date, scalar: DateTimeScalar },
      { type: BigInt, scalar: BigIntScalar },
    ],
    authChecker,
    pubSub: noTopics,
    authMode: 'error',
    validate: { forbidUnknownValues: false },
    emitSchemaFile: false,
  });
  // The contract's scalars exist even before a field uses them.
  const config = built.toConfig();
  const names = new Set(config.types.map((t) => t.name));
  cached = new GraphQLSchema({
    ...config,
    types: [...config.types, ...[JSONScalar, BigIntScalar].filter((s) => !names.has(s.name))],
  });
  return cached;
}

/** The committed SDL: sorted, so diffs show only real changes. */
export function printAppSchema(schema: GraphQLSchema = buildAppSchema()): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
