import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { DomainError } from '../errors/domain-error';
import { formatError, isMasked } from '../errors/format-error';
import { isOutageError, SERVICE_UNAVAILABLE_MESSAGE } from '../errors/outage';
import { buildAppSchema } from './build-schema';
import { createContext, type AppContext } from '../resolvers/context';
import { primeEventCursor } from './event-cursor';
import { installRestRoutes } from './rest-routes';
import { outagePlugin, rethrowOutage, storesReady } from './outage';
import { sharedSubscribe } from './shared-subscribe';
import { errorStatusPlugin } from './error-status';
import { checkRequestInputs } from './input-check';
import { assertCost, validationRules, type Limits } from './limits';
import type { Metrics } from './metrics';
import type { Logger } from '../lib/logger';
import type { Principal } from '../core/policy';
import type { Services } from '../app/container';

export interface ApiServer {
  server: http.Server;
  port: number;
  /** Stop accepting, drain HTTP, close WebSockets. */
  stop(): Promise<void>;
}

/** Extra HTTP routes (REST monitoring, executor status…) mounted beside /graphql. */
export type RouteInstaller = (app: express.Express, services: Services) => void;

const bearer = (value: unknown): string | null => {
  if (typeof value !== 'string') return null;
  const m = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return m ? m[1] : null;
};

/** WebSocket close code 1013 (RFC 6455 registry): the server cannot serve now; retry later. */
const WS_TRY_AGAIN_LATER = 1013;

type WsExtra = Record<PropertyKey, unknown> & {
  principal?: Principal;
};

export async function startApiServer(
  services: Services,
  metrics: Metrics,
  opts: { port: number; host: string; routes?: RouteInstaller[] },
): Promise<ApiServer> {
  const { config, log } = services;
  const schema: GraphQLSchema = buildAppSchema();
  const limits: Limits = config.graphql;
  const rules = validationRules(limits);
  const app = express();
  app.disable('x-powered-by');
  const httpServer = http.createServer(app);

  // ---- WebSocket (graphql-ws) on the same path --------------------------------------
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: 1024 * 1024 });
  const socketsByKey = new Map<string, Set<WebSocket>>();
  const unsubscribeRevoked = await services.bus.subscribe('api-key-revoked', (keyId) => {
    services.apiKeys.forget(keyId);
    for (const socket of socketsByKey.get(keyId) ?? []) socket.close(4403, 'API key revoked');
    socketsByKey.delete(keyId);
  });

  const wsServer = useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      connectionInitWaitTimeout: config.wsConnectionInitTimeoutMs,
      // Fan-out: one execution per event and distinct operation, shared by its subscribers.
      subscribe: sharedSubscribe(services) as (args: ExecutionArgs) => Promise<ExecutionResult>,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        let principal: Principal | null;
        try {
          principal = await services.apiKeys.authenticate(bearer(raw));
        } catch (err) {
          if (!isOutageError(err)) throw err;
          // The key check needs Postgres: 1013 "Try Again Later", not 4500 with the driver's text.
          log.warn({ err: String(err) }, 'store unavailable');
          ctx.extra.socket.close(WS_TRY_AGAIN_LATER, SERVICE_UNAVAILABLE_MESSAGE);
          return false;
        }
        if (!principal) return false; // 4403 Forbidden
        ctx.extra.principal = principal;
        let set = socketsByKey.get(principal.apiKeyId);
        if (!set) socketsByKey.set(principal.apiKeyId, (set = new Set()));
        set.add(ctx.extra.socket);
        metrics.wsConnections.inc();
        ctx.extra.socket.once('close', () => {
          set.delete(ctx.extra.socket);
          metrics.wsConnections.dec();
        });
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError('Syntax error')];
        }
        const errors = validate(schema, document, [...specifiedRules, ...rules]);
        if (errors.length) return errors;
        try {
          checkRequestInputs(schema, document, payload.operationName, payload.variables);
          assertCost(schema, document, payload.variables ?? undefined, payload.operationName, limits.maxCost);
        } catch (err) {
          // Sent as an Error message through onError below, which logs and formats it.
          return [
            err instanceof GraphQLError ? err : new GraphQLError('Internal error', { originalError: err as Error }),
          ];
        }
        const requestId = randomUUID();
        const socket = ctx.extra.socket;
        const contextValue: AppContext = {
          ...createContext(services, ctx.extra.principal ?? null, requestId, log.child({ requestId })),
          closeSocket: (code, reason) => socket.close(code, reason),
        };
        const args: ExecutionArgs = {
          schema,
          document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          contextValue,
        };
        await primeEventCursor(contextValue, document, payload.operationName);
        return args;
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return;
        const c = args.contextValue as AppContext;
        return {
          ...result,
          errors: result.errors.map((e) => {
            logRefusal(e, c.log, c.requestId);
            return formatError(e.toJSON(), e, c.requestId);
          }),
        };
      },
      onError: (_ctx, _id, _payload, errors): GraphQLFormattedError[] => {
        const requestId = randomUUID();
        return errors.map((e) => {
          logRefusal(e, log.child({ requestId }), requestId);
          return formatError(e.toJSON(), e, requestId);
        });
      },
    },
    wss,
  );

  // ---- Apollo over HTTP -------------------------------------------------------------
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
    schema,
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
          drainServer: async () => {
            await unsubscribeRevoked();
            await wsServer.dispose();
          },
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
      ...(config.isProduction ? [ApolloServerPluginLandingPageDisabled()] : []),
    ],
  });
  await apollo.start();

  app.use((req: Request, res: Response, next: NextFunction) => {
    const incoming = req.header('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'up' });
  });
  app.get('/readyz', async (_req, res) => {
    const up = await storesReady(services);
    res.status(up ? 200 : 503).json({ status: up ? 'up' : 'down' });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  installRestRoutes(app, services);
  for (const install of opts.routes ?? []) install(app, services);

  app.use(
    '/graphql',
    express.json({ limit: config.httpBodyLimit }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = String(res.locals.requestId);
        const principal = await services.apiKeys.authenticate(bearer(req.headers.authorization)).catch(rethrowOutage);
        return createContext(services, principal, requestId, log.child({ requestId }));
      },
    }),
  );

  // Body too large, malformed JSON and the like: a coded error, not an HTML page.
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = err.status ?? 500;
    if (status >= 500) log.error({ err, requestId: res.locals.requestId }, 'http error');
    res.status(status).json({
      errors: [
        {
          message: status >= 500 ? 'Internal server error' : err.message,
          extensions: {
            code: status === 413 ? 'PAYLOAD_TOO_LARGE' : status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST',
            requestId: res.locals.requestId,
          },
        },
      ],
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  log.info({ port }, `GraphQL at http://localhost:${port}/graphql`);

  return {
    server: httpServer,
    port,
    stop: async () => {
      await apollo.stop();
    },
  };
}

/**
 * Unknown errors (masked for the client) are logged as errors with the request id; an
 * outage as a warning (not a bug of ours); a refused request (bad input, a coded domain
 * error) only at debug level.
 */
function logRefusal(e: GraphQLError, log: Logger, requestId: string): void {
  if (isOutageError(e.originalError ?? e)) {
    log.warn({ err: String(e.originalError ?? e), requestId }, 'store unavailable');
    return;
  }
  if (isMasked(e)) {
    log.error({ err: e.originalError ?? e, requestId, path: e.path }, 'internal error');
    return;
  }
  const original = e.originalError instanceof DomainError ? e.originalError : e;
  const code = original instanceof DomainError ? original.code : e.extensions?.code;
  log.debug({ requestId, code, message: e.message, path: e.path }, 'request refused');
}
