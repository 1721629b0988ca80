import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redisTargetUrl, type RedisTarget } from '../config/redis-target';

export class RedisUnavailableError extends Error {}

/**
 * A connection to one node or to a Redis Cluster. Both speak the same commands and
 * pub/sub; what differs (keys used together must share a hash slot) is `slotPrefix`'s.
 */
export type RedisClient = Redis | Cluster;

/** Options of a connection (as ioredis' RedisOptions; on a cluster they apply to the cluster and each node). */
export interface ConnectionOptions extends Pick<
  RedisOptions,
  'lazyConnect' | 'enableOfflineQueue' | 'maxRetriesPerRequest' | 'connectTimeout' | 'retryStrategy' | 'connectionName'
> {
  /**
   * A pub/sub subscriber (events/bus.ts): on a cluster it holds one subscriber connection
   * per master, for sharded channels (SSUBSCRIBE). No effect on one node.
   */
  shardedSubscriber?: boolean;
}

/**
 * The one place that tells a single node from a cluster: every Redis connection of the
 * process is made here. A connection reconnects on its own; BullMQ workers' blocking
 * connections use it as it is.
 */
export function createRedis(target: RedisTarget, opts: ConnectionOptions = {}): RedisClient {
  const { shardedSubscriber, ...o }: ConnectionOptions = {
    lazyConnect: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    ...opts,
  };
  if (target.kind === 'single') return new Redis(target.url, o);
  const { lazyConnect, enableOfflineQueue, retryStrategy, ...node } = o;
  const cluster: ClusterOptions = {
    lazyConnect,
    enableOfflineQueue,
    shardedSubscribers: shardedSubscriber === true,
    // Reconnecting to the cluster as a whole follows the same strategy as one node.
    ...(retryStrategy !== undefined && { clusterRetryStrategy: retryStrategy }),
    redisOptions: { ...node, username: target.username, password: target.password },
  };
  return new Cluster(
    target.nodes.map((n) => ({ host: n.host, port: n.port })),
    cluster,
  );
}

/**
 * For the shared producer and pub/sub connections: while Redis is away a command fails at
 * once (no offline queue; one reconnect try for a command caught in flight) instead of
 * holding its caller until Redis is back.
 */
export const FAIL_FAST: ConnectionOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };

/**
 * A prefix under which keys used together (one MULTI, one Lua script: a BullMQ queue's)
 * land in one hash slot: `base` as it is on one node; on a cluster `base` then `{tag}`
 * (the hash tag), so each tag's keys sit together and different tags spread over the
 * masters.
 */
export function slotPrefix(client: RedisClient, base: string, tag: string): string {
  return client.isCluster ? `${base}-{${tag}}` : base;
}

/**
 * Publish on a pub/sub channel: SPUBLISH on a cluster (the channel is sharded: its
 * messages keep their order, see events/bus.ts), PUBLISH on one node.
 */
export async function publishOn(client: RedisClient, channel: string, message: string): Promise<void> {
  await (client.isCluster ? client.spublish(channel, message) : client.publish(channel, message));
}

/** Ping Redis (every seed node of a cluster reachable, its slots served) once; the error says what was tried. */
export async function assertRedisReachable(target: RedisTarget, timeoutMs = 3_000): Promise<void> {
  const probe = createRedis(target, {
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  probe.on('error', () => undefined);
  try {
    await withTimeout(
      (async () => {
        await probe.connect();
        await probe.ping();
      })(),
      // A cluster's connect also waits for its slots and state: bounded here (one node's
      // connectTimeout answers first).
      timeoutMs + 1_000,
    );
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const what = target.kind === 'cluster' ? 'the Redis Cluster' : 'Redis';
    throw new RedisUnavailableError(
      `marie: cannot reach ${what} at ${redact(redisTargetUrl(target))} (${why}). Start one (Debian: 'apt-get install redis-server && redis-server --daemonize yes') or set REDIS_URL${target.kind === 'cluster' ? ' / REDIS_CLUSTER_NODES' : ''}.`,
    );
  } finally {
    probe.disconnect();
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
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
