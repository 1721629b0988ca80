import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { WebSocketServer } from 'ws';
import { formatError } from '../errors/format-error';
import { isOutageError, SERVICE_UNAVAILABLE_MESSAGE } from '../errors/outage';
import { createContext, type AppContext } from '../resolvers/context';
import type { Principal } from '../core/policy';
import { API_KEY_REVOKED } from '../core/bus-channels';
import type { Services } from '../services/process-services';
import { bearer } from './auth';
import { primeEventCursor } from './event-cursor';
import { checkRequestInputs } from './input-check';
import { assertCost, type Limits } from './limits';
import { logRefusal } from './log-refusal';
import type { Metrics } from './metrics';
import { sharedSubscribe } from './shared-subscribe';
import { SocketKeys } from './socket-keys';
import { useTransport } from './ws-transport';

/** WebSocket close code 1013 (RFC 6455 registry): the server cannot serve now; retry later. */
const WS_TRY_AGAIN_LATER = 1013;

type WsExtra = Record<PropertyKey, unknown> & {
  principal?: Principal;
};

export interface WsEndpoint {
  /** Close every socket and stop hearing key revocations. */
  dispose(): Promise<void>;
}

/**
 * GraphQL over WebSocket (graphql-ws) on /graphql of `httpServer`: the same key check,
 * input checks, cost limit and error format as HTTP; a revoked key closes its sockets.
 */
export async function startWsEndpoint(
  httpServer: http.Server,
  services: Services,
  metrics: Metrics,
  schema: GraphQLSchema,
  rules: ValidationRule[],
  limits: Limits,
): Promise<WsEndpoint> {
  const { config, log } = services;
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: 1024 * 1024 });
  const keys = new SocketKeys(services.apiKeys, log, Math.max(config.authCacheMs, 1_000));
  const unsubscribeRevoked = await services.bus.listen(API_KEY_REVOKED, (keyId) => keys.revoked(keyId));
  // Revocations published while this process's subscriber was away are not heard.
  const unwatch = services.bus.watchConnection({ dropped: () => undefined, back: () => void keys.recheck() });

  const wsServer = useTransport<Record<string, unknown> | undefined, WsExtra>(
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
        keys.add(principal, ctx.extra.socket, () => metrics.wsConnections.dec());
        metrics.wsConnections.inc();
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

  return {
    dispose: async () => {
      unwatch();
      await keys.close();
      await unsubscribeRevoked();
      await wsServer.dispose();
    },
  };
}
