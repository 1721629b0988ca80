import { Redis, type RedisOptions } from 'ioredis';

export class RedisUnavailableError extends Error {}

/** A connection that reconnects on its own; BullMQ workers' blocking connections use it as it is. */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, { lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null, ...opts });
}

/**
 * For the shared producer and pub/sub connections: while Redis is away a command fails at
 * once (no offline queue; one reconnect try for a command caught in flight) instead of
 * holding its caller until Redis is back.
 */
export const FAIL_FAST: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };

/** Ping Redis once; the error says what was tried and how to get a Redis. */
export async function assertRedisReachable(url: string, timeoutMs = 3_000): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new RedisUnavailableError(
      `marie: cannot reach Redis at ${redact(url)} (${why}). Start one (Debian: 'apt-get install redis-server && redis-server --daemonize yes') or set REDIS_URL.`,
    );
  } finally {
    probe.disconnect();
  }
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}

/** Delete every key under a prefix (a test run's or benchmark's BullMQ queues and channels). */
export async function deleteKeysByPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
