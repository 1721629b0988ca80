import { randomBytes, randomUUID } from 'node:crypto';
import { Redis, type Cluster } from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config';
import { dropDatabaseWhenIdle } from '../src/db/drop-database';
import { tenantChannel } from '../src/core/bus-channels';
import { queueName } from '../src/jobs/queues';
import { isOutageError } from '../src/errors/outage';
import { assertRedisReachable, createRedis, FAIL_FAST, RedisUnavailableError, slotPrefix } from '../src/lib/redis';
import { createNoopExecutor } from '../src/sdk/builtin/noop.executor';
import { seedPipeline, submitDag, waitFor, waitForDag, type DagSnapshot } from './support/dag-helpers';
import { collect, missesNothingAcross, until, waitSubscribed } from './support/event-helpers';
import { LocalRedisCluster } from './support/local-redis-cluster';
import { freePort } from './support/private-stores';
import { startTestApp, TEST_ATTEMPT_TOKEN_SECRET, type TestApp } from './support/test-app';

/** A configuration from these variables alone (a fixed secret: nothing is written to DATA_DIR). */
const configOf = (env: Record<string, string>) => loadConfig({ ATTEMPT_TOKEN_SECRET: TEST_ATTEMPT_TOKEN_SECRET }, env);

/** The problems of a configuration that must not load. */
const problemsOf = (env: Record<string, string>): string[] => {
  try {
    configOf(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the configuration loaded');
};

describe('Redis settings', () => {
  it('REDIS_CLUSTER_NODES or a redis+cluster:// REDIS_URL is a cluster; neither is the one node of REDIS_URL', () => {
    expect(configOf({}).redis).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
    expect(configOf({ REDIS_URL: 'redis://h:7/2' })).toMatchObject({
      redis: { kind: 'single', url: 'redis://h:7/2' },
      redisUrl: 'redis://h:7/2',
    });
    const fromNodes = configOf({ REDIS_CLUSTER_NODES: ' a:7000, [::1]:7001 ,b.example:7002' });
    expect(fromNodes.redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: '::1', port: 7001 },
        { host: 'b.example', port: 7002 },
      ],
      username: undefined,
      password: undefined,
    });
    expect(fromNodes.redisUrl).toBe('redis+cluster://a:7000,[::1]:7001,b.example:7002');
    const fromUrl = configOf({ REDIS_URL: 'redis+cluster://app:p%40ss:w@a:7000,b:7001/' });
    expect(fromUrl.redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      username: 'app',
      password: 'p@ss:w',
    });
    // The same target again, so a child process given redisUrl joins the same cluster.
    expect(configOf({ REDIS_URL: fromUrl.redisUrl }).redis).toEqual(fromUrl.redis);
  });

  it('bad cluster settings are errors naming the variable, reported with the other bad ones', () => {
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'a:7000,localhost' })).toEqual([
      'REDIS_CLUSTER_NODES: "localhost" is not host:port (port 1-65535)',
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'a:70000' })).toEqual([
      'REDIS_CLUSTER_NODES: "a:70000" is not host:port (port 1-65535)',
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: ' , ' })).toEqual(['REDIS_CLUSTER_NODES: at least one host:port']);
    expect(problemsOf({ REDIS_URL: 'redis+cluster://' })).toEqual([
      'REDIS_URL: redis+cluster://: at least one host:port',
    ]);
    expect(problemsOf({ REDIS_URL: 'redis+cluster://u:%zz@a:1' })).toEqual([
      'REDIS_URL: the user or password is not URL-encoded',
    ]);
    expect(problemsOf({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'a:1' })).toEqual([
      'REDIS_CLUSTER_NODES: set either REDIS_CLUSTER_NODES or REDIS_URL, not both',
    ]);
    expect(problemsOf({ PORT: 'x', REDIS_CLUSTER_NODES: 'nope' })).toEqual([
      'PORT: Invalid input: expected number, received NaN',
      'REDIS_CLUSTER_NODES: "nope" is not host:port (port 1-65535)',
    ]);
  });

  it('a cluster nobody answers on is a RedisUnavailableError naming the cluster and its settings', async () => {
    const port = await freePort();
    const err = await assertRedisReachable(configOf({ REDIS_CLUSTER_NODES: `127.0.0.1:${port}` }).redis, 1_000)
      .then(() => null)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toContain(`cannot reach the Redis Cluster at redis+cluster://127.0.0.1:${port}`);
    expect((err as Error).message).toContain('REDIS_CLUSTER_NODES');
  });

  it('a command on a fail-fast cluster connection with no node reachable fails at once as an outage (503)', async () => {
    const port = await freePort();
    const client = createRedis(configOf({ REDIS_CLUSTER_NODES: `127.0.0.1:${port}` }).redis, FAIL_FAST);
    client.on('error', () => undefined);
    const err = await client
      .publish('marie:x', 'm')
      .then(() => null)
      .catch((e: unknown) => e);
    client.disconnect();
    expect((err as Error).message).toBe("Cluster isn't ready and enableOfflineQueue options is false");
    expect(isOutageError(err)).toBe(true);
  });

  it('on one node, a queue keeps the plain prefix (as before clusters)', () => {
    const single = new Redis({ lazyConnect: true });
    expect(slotPrefix(single, 'marie', 'exec.noop')).toBe('marie');
    single.disconnect();
  });
});

interface JobEv {
  cursor: string;
  taskId: string;
  state: string;
}
interface DagEv {
  cursor: string;
  state: string;
}
const JOB_SUB = `subscription ($d: ID!) { jobStatusChanged(dagId: $d) { cursor taskId state } }`;
const DAG_SUB = `subscription ($d: ID) { dagStatusChanged(dagId: $d) { cursor state } }`;

/** Executors of their own names (their own queues): noop under another name. */
const NODE_EXECUTORS = ['ocr', 'classify', 'extract', 'store'];

describe('on a three-master Redis Cluster', () => {
  let cluster: LocalRedisCluster;
  let admin: Client;
  let dbName: string;
  let api: TestApp;
  let engine: TestApp;
  let key: string;
  let tenantId: string;

  beforeAll(async () => {
    cluster = await LocalRedisCluster.start(3);
    // A database of this file's own: no scheduler or worker of another test (on the
    // shared Redis) claims or runs what is submitted here.
    dbName = `marie_cluster_${randomBytes(4).toString('hex')}`;
    admin = new Client({ connectionString: inject('adminDatabaseUrl') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(inject('adminDatabaseUrl'));
    url.pathname = `/${dbName}`;
    // Both ways of naming the cluster: the api by its node list, the rest by a URL.
    api = await startTestApp({
      roles: ['api'],
      env: { DATABASE_URL: url.toString(), REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.nodes },
    });
    engine = await startTestApp({
      roles: ['scheduler', 'worker'],
      executors: NODE_EXECUTORS.map((name) => ({ ...createNoopExecutor(4), name })),
      env: { DATABASE_URL: url.toString(), REDIS_URL: cluster.url },
    });
    ({ key, tenantId } = await api.tenant('submitter'));
  }, 180_000);

  afterAll(async () => {
    await api?.stop().catch(() => undefined);
    await engine?.stop().catch(() => undefined);
    if (admin) {
      if (dbName) await dropDatabaseWhenIdle(admin, dbName);
      await admin.end();
    }
    await cluster?.stop();
  }, 60_000);

  const ranOnce = (d: DagSnapshot) => {
    expect(d.state).toBe('COMPLETED');
    for (const j of d.jobs) {
      expect(j.state, j.taskId).toBe('COMPLETED');
      expect(
        j.attempts.map((a) => [a.outcome, a.workerId]),
        j.taskId,
      ).toEqual([['SUCCEEDED', engine.app.worker!.id]]);
    }
  };

  it('runs the seed pipeline and streams its job and DAG events to a graphql-ws subscriber', async () => {
    expect(api.app.services.redis.isCluster).toBe(true);
    expect(engine.app.services.redis.isCluster).toBe(true);
    const id = `cl-${randomUUID()}`;
    const ws = api.ws(key);
    const jobs = collect<JobEv>(ws, JOB_SUB, { d: id });
    const dags = collect<DagEv>(ws, DAG_SUB, { d: id });
    await waitSubscribed(api, tenantId, 2);

    await submitDag(api, key, seedPipeline(id));
    ranOnce(await waitForDag(api, key, id, ['COMPLETED', 'FAILED'], 60_000));
    // Published by the scheduler's relay on the cluster, heard by the api's subscriber.
    await until(jobs, (i) => i.filter((e) => e.state === 'COMPLETED').length === 4, 'four jobs completed', 30_000);
    await until(dags, (i) => i.some((e) => e.state === 'COMPLETED'), 'the DAG completed', 30_000);
    expect(jobs.errors).toEqual([]);
    expect(dags.errors).toEqual([]);
    expect(
      jobs.items
        .filter((e) => e.state === 'COMPLETED')
        .map((e) => e.taskId)
        .sort(),
    ).toEqual(['classify', 'extract', 'ocr', 'store']);
    const cursors = jobs.items.map((e) => BigInt(e.cursor));
    expect(cursors).toEqual([...cursors].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(cursors).size).toBe(cursors.length);
    // `store` ran after both of its parents.
    const at = (task: string) => jobs.items.findIndex((e) => e.taskId === task && e.state === 'COMPLETED');
    expect(at('store')).toBeGreaterThan(Math.max(at('classify'), at('extract')));
    jobs.stop();
    dags.stop();
  }, 120_000);

  it("hears a channel's messages in the order they were published (sharded pub/sub)", async () => {
    // A classic PUBLISH enters at a node the client picks per command and reaches the
    // subscriber's node over the cluster bus: here 1,000 awaited publishes arrived with
    // dozens out of order. Sharded, they all pass through the channel's master.
    const channel = tenantChannel(`order-${randomUUID()}`);
    const heard: number[] = [];
    const unsubscribe = await engine.app.services.bus.subscribe(channel, (m) => heard.push(Number(m)));
    const sent = 1_000;
    for (let i = 0; i < sent; i++) await api.app.services.bus.publish(channel, String(i));
    await waitFor(
      async () => heard.length === sent,
      10_000,
      () => `${sent} messages (heard ${heard.length})`,
    );
    await unsubscribe();
    expect(heard).toEqual(Array.from({ length: sent }, (_, i) => i));
  }, 60_000);

  it('answers an executor status request through the bus: asked by the api, answered by the worker', async () => {
    const res = await fetch(api.url.replace(/\/graphql$/, '/api/executors/ocr/status'), {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ executor: 'ocr', status: 'ok', workerId: engine.app.worker!.id });
  });

  it("spreads the queues over the masters, each queue's keys in one hash slot", async () => {
    const id = `cl-${randomUUID()}`;
    const over = Object.fromEntries(NODE_EXECUTORS.map((name) => [name, { executor: name }]));
    await submitDag(api, key, seedPipeline(id, over));
    ranOnce(await waitForDag(api, key, id, ['COMPLETED', 'FAILED'], 60_000));

    const prefix = api.app.services.config.queuePrefix;
    const queues = ['noop', ...NODE_EXECUTORS].map((e) => queueName(e, false));
    /** Per master: each queue's keys there, by slot. */
    const held = await Promise.all(
      cluster.ports.map((port) =>
        cluster.onNode(port, async (r) => {
          const keys = await r.keys(`${prefix}-{*`);
          const slots = new Map<string, Set<number>>();
          for (const k of keys) {
            const queue = /-\{([^}]*)\}/.exec(k)![1];
            const slot = Number(await r.cluster('KEYSLOT', k));
            expect(Number(await r.cluster('COUNTKEYSINSLOT', slot))).toBeGreaterThan(0);
            (slots.get(queue) ?? slots.set(queue, new Set()).get(queue)!).add(slot);
          }
          return { port, slots, dbsize: await r.dbsize() };
        }),
      ),
    );
    for (const queue of queues) {
      const where = held.filter((h) => h.slots.has(queue));
      expect(
        where.map((h) => h.slots.get(queue)!.size),
        queue,
      ).toEqual([1]); // one node, one slot
      expect(slotPrefix(api.app.services.redis, prefix, queue)).toBe(`${prefix}-{${queue}}`);
    }
    // The five queues' hash tags fall in all three masters' slot ranges.
    expect(held.filter((h) => h.slots.size > 0 && h.dbsize > 0).length).toBe(3);
  }, 120_000);

  /**
   * The api's live feed while `away` cuts its subscriber off (the relay's connections stay;
   * test/support/event-helpers.ts). `away` gets a connection to each master, opened before
   * any refuses new ones (maxclients 1), and returns those it limited: they are restored after.
   */
  async function missesNothingWhile(away: (masters: Map<number, Redis>) => Promise<Redis[]>): Promise<void> {
    const masters = new Map(cluster.ports.map((port) => [port, new Redis({ host: '127.0.0.1', port })]));
    const limited: Redis[] = [];
    const [, maxclients] = (await masters.get(cluster.ports[0])!.config('GET', 'maxclients')) as [string, string];
    const lift = () => Promise.all(limited.map((r) => r.config('SET', 'maxclients', maxclients)));
    try {
      await missesNothingAcross(
        { api, relay: engine, key, tenantId },
        async () => void limited.push(...(await away(masters))),
        async () => void (await lift()),
      );
    } finally {
      await lift().catch(() => undefined);
      for (const r of masters.values()) r.disconnect();
    }
  }

  /** The master serving the tenant's event channel. */
  async function tenantMaster(masters: Map<number, Redis>): Promise<Redis> {
    const channel = api.app.services.bus.channel(tenantChannel(tenantId));
    const r = masters.get(cluster.ports[0])!;
    const slot = Number(await r.cluster('KEYSLOT', channel));
    const [, , [, port]] = (await r.cluster('SLOTS')).find(([lo, hi]) => slot >= lo && slot <= hi)!;
    return masters.get(port)!;
  }

  /** The masters refuse new connections and close their pub/sub ones (the tenant's master holds the api's). */
  async function refuseAndDropSubscribers(masters: Map<number, Redis>, limit: Redis[]): Promise<Redis[]> {
    const theTenants = await tenantMaster(masters);
    for (const r of limit) await r.config('SET', 'maxclients', '1');
    const killed = await Promise.all(limit.map(async (r) => Number(await r.client('KILL', 'TYPE', 'pubsub'))));
    expect(killed[limit.indexOf(theTenants)]).toBeGreaterThan(0);
    return limit;
  }

  it("misses no event while the api's sharded subscriber on the tenant's master is away", async () => {
    // ioredis replaces that subscriber over and over, and cannot subscribe until the limit is lifted.
    await missesNothingWhile(async (masters) => refuseAndDropSubscribers(masters, [await tenantMaster(masters)]));
  }, 60_000);

  it('misses no event while every master refuses the api, which closes its subscriber connection', async () => {
    // The slots cannot be read again anywhere: ioredis closes the whole subscriber
    // connection (its sharded subscribers go without a `-subscriber`) and reconnects later.
    await missesNothingWhile((masters) => refuseAndDropSubscribers(masters, [...masters.values()]));
  }, 60_000);

  it('misses no event across a close of the subscriber connection that comes straight back', async () => {
    // What ioredis does itself when it can read the slots nowhere: disconnect, then
    // reconnect (here at once, so no failed try replaces a sharded subscriber meanwhile).
    const sub = (api.app.services.bus as unknown as { sub: Cluster }).sub;
    await missesNothingAcross(
      { api, relay: engine, key, tenantId },
      async () => {
        sub.disconnect(true);
        await waitFor(async () => sub.status !== 'ready', 5_000, 'the subscriber connection to close');
      },
      async () => void (await waitFor(async () => sub.status === 'ready', 10_000, 'the subscriber connection back')),
    );
  }, 60_000);
});
