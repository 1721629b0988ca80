import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLSchema, OperationDefinitionNode, ValidationRule } from 'graphql';
import { formatError } from '../errors/format-error';
import { createContext, type AppContext } from '../resolvers/context';
import type { Services } from '../services/process-services';
import { bearer } from './auth';
import { errorStatusPlugin } from './error-status';
import { primeEventCursor } from './event-cursor';
import { compiledExecutionGateway, type OperationExecutor } from './compiled-execution';
import { checkRequestInputs } from './input-check';
import { assertCost, type Limits } from './limits';
import { logRefusal } from './log-refusal';
import type { Metrics } from './metrics';
import { outagePlugin, rethrowOutage } from './outage';

/**
 * Apollo over HTTP, started: input checks and the cost limit before any resolver runs,
 * metrics and refusal logs, `no-store` answers. `drain` runs when Apollo stops (after the
 * HTTP server stops accepting): the WebSocket endpoint closes there.
 */
export async function startApollo(
  httpServer: http.Server,
  services: Services,
  metrics: Metrics,
  schema: GraphQLSchema,
  rules: ValidationRule[],
  limits: Limits,
  run: OperationExecutor,
  drain: () => Promise<void>,
): Promise<ApolloServer<AppContext>> {
  const { config } = services;
  const limitsPlugin: ApolloServerPlugin<AppContext> = {
    requestDidStart: async () => ({
      // Inputs are checked, and variables coerced, before any resolver runs (and before the
      // cost, which coerces them too): bad input is a coded 4xx, never a 500.
      didResolveOperation: async ({ document, request, operationName, contextValue }) => {
        checkRequestInputs(schema, document, operationName, request.variables);
        assertCost(schema, document, request.variables, operationName, limits.maxCost);
        await primeEventCursor(contextValue, document, operationName);
      },
    }),
  };
  const observabilityPlugin: ApolloServerPlugin<AppContext> = {
    requestDidStart: async ({ contextValue }) => {
      const end = metrics.graphqlDuration.startTimer();
      let type = 'unknown';
      return {
        didResolveOperation: async ({ operation }: { operation?: OperationDefinitionNode | null }) => {
          type = operation?.operation ?? 'unknown';
        },
        didEncounterErrors: async ({ errors }) => {
          for (const e of errors) logRefusal(e, contextValue.log, contextValue.requestId);
        },
        willSendResponse: async ({ response, errors }) => {
          // Every answer is per tenant and live: no cache or proxy may keep it.
          response.http.headers.set('cache-control', 'no-store');
          end({ type });
          metrics.graphqlRequests.inc({ type, outcome: errors?.length ? 'error' : 'ok' });
          if (response.body.kind === 'single' && response.body.singleResult.errors) {
            response.body.singleResult.errors = response.body.singleResult.errors.map((e) => ({
              ...e,
              extensions: { ...e.extensions, requestId: contextValue.requestId },
            }));
          }
        },
      };
    },
  };

  const apollo = new ApolloServer<AppContext>({
    // The schema, and the executor: graphql-js, or a compiled query for the few root fields
    // whose answers hold tens of thousands of objects (compiled-execution.ts).
    gateway: compiledExecutionGateway(schema, run),
    introspection: !config.isProduction,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    hideSchemaDetailsFromClientErrors: config.isProduction,
    includeStacktraceInErrorResponses: false,
    validationRules: rules,
    formatError: (formatted, error) => formatError(formatted, error, undefined),
    // Outside NODE_ENV=test Apollo would stop itself on SIGTERM/SIGINT, and its stop() and
    // ours (main.ts, which drains the worker and closes the rest in order) wait on each other.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      {
        serverWillStart: async () => ({
          drainServer: drain,
        }),
      },
      limitsPlugin,
      observabilityPlugin,
      errorStatusPlugin,
      outagePlugin,
      // No cache hints here (every answer is per tenant and live, sent with `no-store`
      // above): without the cache-control plugin Apollo does not wrap every field's
      // resolver to collect them. No federation traces either: timing data is not for clients.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      // No landing page: Apollo's loads from a CDN. A browser's GET /graphql goes to the
      // bundled GraphiQL instead (static-ui.ts).
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();
  return apollo;
}

/** The JSON body parser of /graphql (the fast path reads the body with the same one). */
export function graphqlBodyParser(services: Services): express.RequestHandler {
  return express.json({ limit: services.config.httpBodyLimit });
}

/** A GraphQL request's context: its principal (from the API key; an outage is a coded 503), loaders, logger. */
export async function graphqlContext(
  services: Services,
  authorization: string | undefined,
  requestId: string,
): Promise<AppContext> {
  const principal = await services.apiKeys.authenticate(bearer(authorization)).catch(rethrowOutage);
  return createContext(services, principal, requestId, services.log.child({ requestId }));
}

/** POST/GET /graphql: the body parser and Apollo, with the request's principal in its context. */
export function installGraphqlRoute(app: express.Express, apollo: ApolloServer<AppContext>, services: Services): void {
  app.use(
    '/graphql',
    graphqlBodyParser(services),
    expressMiddleware(apollo, {
      context: ({ req, res }) => graphqlContext(services, req.headers.authorization, String(res.locals.requestId)),
    }),
  );
}
