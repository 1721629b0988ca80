import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type express from 'express';
import { GraphQLError } from 'graphql';
import {
  isOutageError,
  RETRY_AFTER_SECONDS,
  SERVICE_UNAVAILABLE,
  SERVICE_UNAVAILABLE_MESSAGE,
  withTimeout,
} from '../errors/outage';
import type { Services } from '../services/process-services';

/** How long /readyz waits for each store before it says down. */
export const READINESS_TIMEOUT_MS = 800;

/**
 * Both stores answer: Redis connected and answering PING, PostgreSQL answering SELECT 1,
 * each within READINESS_TIMEOUT_MS (a store that hangs is as down as one that refuses).
 */
export async function storesReady(services: Pick<Services, 'ds' | 'redis'>): Promise<boolean> {
  const { ds, redis } = services;
  const checks = await Promise.allSettled([
    withTimeout(ds.query('SELECT 1'), READINESS_TIMEOUT_MS, 'postgres'),
    redis.status === 'ready'
      ? withTimeout(redis.ping(), READINESS_TIMEOUT_MS, 'redis')
      : Promise.reject(new Error('redis is not connected')),
  ]);
  return checks.every((c) => c.status === 'fulfilled');
}

/**
 * An outage met while building a request's context (the API key check reads Postgres):
 * SERVICE_UNAVAILABLE, HTTP 503 with Retry-After. Anything else is rethrown as it is.
 */
export function rethrowOutage(err: unknown): never {
  if (!isOutageError(err)) throw err;
  throw new GraphQLError(SERVICE_UNAVAILABLE_MESSAGE, {
    originalError: err instanceof Error ? err : undefined,
    extensions: {
      code: SERVICE_UNAVAILABLE,
      http: { status: 503, headers: new HeaderMap([['retry-after', String(RETRY_AFTER_SECONDS)]]) },
    },
  });
}

/** A GraphQL answer that carries SERVICE_UNAVAILABLE goes out as HTTP 503 with Retry-After. */
export const outagePlugin: ApolloServerPlugin<object> = {
  requestDidStart: async () => ({
    willSendResponse: async ({ response }) => {
      if (response.body.kind !== 'single') return;
      const errors = response.body.singleResult.errors ?? [];
      if (!errors.some((e) => e.extensions?.code === SERVICE_UNAVAILABLE)) return;
      response.http.status = 503;
      response.http.headers.set('retry-after', String(RETRY_AFTER_SECONDS));
    },
  }),
};

/** REST: answer an outage as 503 SERVICE_UNAVAILABLE with Retry-After; false when `err` is not one. */
export function sendOutage(res: express.Response, err: unknown): boolean {
  if (!isOutageError(err)) return false;
  res
    .status(503)
    .setHeader('retry-after', String(RETRY_AFTER_SECONDS))
    .json({
      error: { code: SERVICE_UNAVAILABLE, message: SERVICE_UNAVAILABLE_MESSAGE, requestId: res.locals.requestId },
    });
  return true;
}
