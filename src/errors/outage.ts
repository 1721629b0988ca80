import type { GraphQLFormattedError } from 'graphql';

/** The code a client sees while PostgreSQL or Redis is unreachable (HTTP 503). */
export const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';

/** What `Retry-After` says while a store is unreachable, in seconds. */
export const RETRY_AFTER_SECONDS = 5;

export const SERVICE_UNAVAILABLE_MESSAGE = 'Service unavailable: a data store is unreachable; retry later';

/** Thrown on purpose where a store is known to be down (e.g. Redis not connected). */
export class StoreUnavailableError extends Error {
  constructor(
    readonly store: 'postgres' | 'redis',
    message = `${store} is unreachable`,
  ) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/** Socket-level failures: the store is not there, not a bug of ours. */
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of a server that is going away or not taking connections:
 * class 08 (connection exception), 57P01 admin shutdown, 57P02 crash shutdown,
 * 57P03 cannot connect now (starting up or shutting down).
 */
const isPgOutageCode = (code: string): boolean => code.startsWith('08') || /^57P0[123]$/.test(code);

/** Messages of pg and ioredis that carry no code. */
const OUTAGE_MESSAGES = [
  /^Connection terminated/, // pg: the server closed the socket
  /timeout exceeded when trying to connect/, // pg pool
  /Client has encountered a connection error/, // pg
  /^Connection is closed\.?$/, // ioredis
  /Stream isn't writeable and enableOfflineQueue options is false/, // ioredis, fail-fast clients
  /Cluster isn't ready and enableOfflineQueue options is false/, // ioredis Cluster, fail-fast, no node reachable
  /Reached the max retries per request limit/, // ioredis MaxRetriesPerRequestError
];

/**
 * True when `err` (or what it wraps: TypeORM's driverError, `cause`, an AggregateError's
 * errors, a GraphQLError's originalError) says PostgreSQL or Redis is unreachable.
 */
export function isOutageError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  if (err instanceof StoreUnavailableError) return true;
  const e = err as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    driverError?: unknown;
    cause?: unknown;
    errors?: unknown;
    originalError?: unknown;
  };
  if (typeof e.code === 'string' && (NET_CODES.has(e.code) || isPgOutageCode(e.code))) return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (typeof e.message === 'string' && OUTAGE_MESSAGES.some((re) => re.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isOutageError(x, depth + 1))) return true;
  return [e.driverError, e.cause, e.originalError].some((x) => x !== err && isOutageError(x, depth + 1));
}

/** The GraphQL error a client gets for an outage (the store's own message is not shown). */
export function serviceUnavailableFormatted(
  formatted: GraphQLFormattedError,
  requestId: string | undefined,
): GraphQLFormattedError {
  return {
    message: SERVICE_UNAVAILABLE_MESSAGE,
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: SERVICE_UNAVAILABLE, retryAfterSeconds: RETRY_AFTER_SECONDS, requestId },
  };
}

/** Resolve `p`, or reject after `ms` (a probe must not wait on a store that hangs). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
