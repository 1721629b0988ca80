import { Redis, type RedisOptions } from 'ioredis';

export class RedisUnavailableError extends Error {}

/** A connection that fails fast instead of queueing commands while Redis is away. */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, { lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null, ...opts });
}

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
