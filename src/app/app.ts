import 'reflect-metadata';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { publicApiUrlOf, type AppConfig } from '../config/config';
import { createDataSource } from '../db/data-source';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../db/embedded-postgres';
import { SqlCounter } from '../db/sql-counter';
import { RedisBus } from '../events/bus';
import { Scheduler } from '../scheduler/scheduler';
import { startApiServer, type ApiServer, type RouteInstaller } from '../server/http-server';
import { createMetrics } from '../server/metrics';
import { assertRedisReachable, createRedis, FAIL_FAST, type RedisClient } from '../lib/redis';
import { createServices, type Services } from './container';
import { defaultCallContexts } from '../worker/call-contexts';
import type { ExecutorInvoker } from '../core/executor-call';
import { WorkerRuntime, type CallContextFactory } from '../worker/worker-runtime';

export type Role = 'api' | 'worker' | 'scheduler';
export const ALL_ROLES: readonly Role[] = ['api', 'scheduler', 'worker'];

export interface StartOptions {
  config: AppConfig;
  log: Logger;
  roles?: readonly Role[];
  /** Extra HTTP routes beside /graphql. */
  routes?: RouteInstaller[];
  /** Executors the worker role hosts besides the built-in noop. */
  executors?: ExecutorInvoker[];
  callContexts?: CallContextFactory;
}

export interface App {
  services: Services;
  api: ApiServer | null;
  worker: WorkerRuntime | null;
  scheduler: Scheduler | null;
  /** Graceful stop: stop accepting, drain, close queues, the DataSource and Redis. */
  stop(): Promise<void>;
}

/** Resolve the database: DATABASE_URL, or an embedded PostgreSQL under DATA_DIR/pg. */
export async function resolveDatabase(
  config: AppConfig,
  log: Logger,
): Promise<{ url: string; embedded: EmbeddedPostgresHandle | null }> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: null };
  const dir = path.resolve(config.dataDir, 'pg');
  log.info({ dir }, 'no DATABASE_URL: starting an embedded PostgreSQL');
  const embedded = await startEmbeddedPostgres(dir, {
    onLog: (m) => log.debug({ pg: String(m).trim() }, 'embedded postgres'),
  });
  log.info({ port: embedded.port }, 'embedded PostgreSQL is up');
  return { url: embedded.url, embedded };
}

export async function openDatabase(
  url: string,
  sql: SqlCounter,
  runMigrations = true,
  pool: { size?: number; applicationName?: string } = {},
): Promise<DataSource> {
  const ds = createDataSource({ url, logger: sql, poolSize: pool.size, applicationName: pool.applicationName });
  await ds.initialize();
  if (runMigrations) await ds.runMigrations({ transaction: 'each' });
  return ds;
}

export async function startApp(opts: StartOptions): Promise<App> {
  const { config, log } = opts;
  const roles = opts.roles ?? ALL_ROLES;
  await assertRedisReachable(config.redis);

  const { url, embedded } = await resolveDatabase(config, log);
  const sql = new SqlCounter(log);
  // Named by role and pid, so pg_stat_activity shows which process holds which connections.
  const ds = await openDatabase(url, sql, true, {
    size: config.dbPoolSize,
    applicationName: `marie ${roles.join('+')} ${process.pid}`,
  });
  // Named by role and pid as the Postgres connections are, so CLIENT LIST tells them apart
  // (no spaces in a Redis client name).
  const name = `marie-${roles.join('+')}-${process.pid}`;
  const redis: RedisClient = createRedis(config.redis, { ...FAIL_FAST, connectionName: name });
  const subscriber: RedisClient = createRedis(config.redis, {
    ...FAIL_FAST,
    shardedSubscriber: true,
    connectionName: `${name}-sub`,
  });
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis'));
  subscriber.on('error', (err) => log.warn({ err: err.message }, 'redis subscriber'));
  await Promise.all([redis.connect(), subscriber.connect()]);
  const bus = new RedisBus(redis, subscriber, config.queuePrefix, log);
  const services = createServices({ config, log, ds, redis, bus, sql });
  const metrics = createMetrics(
    config.metricsEnabled,
    () => services.cache.totals(),
    () => services.quota.tenantGauges(),
  );
  await services.quotas.start();

  if (config.authBootstrapKey) {
    await services.apiKeys.ensureKey('default', config.authBootstrapKey, 'admin', 'bootstrap');
    log.info('AUTH_BOOTSTRAP_KEY is an admin key of tenant "default"');
  }

  const scheduler = roles.includes('scheduler') ? new Scheduler(services, url) : null;
  const api = roles.includes('api')
    ? await startApiServer(services, metrics, { port: config.port, host: config.host, routes: opts.routes })
    : null;
  // Remote executors call back this process's api when it runs here (its real port), else PUBLIC_API_URL.
  const apiUrl = publicApiUrlOf(config, api?.port);
  const worker = roles.includes('worker')
    ? new WorkerRuntime(services, opts.executors ?? [], opts.callContexts ?? defaultCallContexts(), {
        apiUrl: () => apiUrl,
      })
    : null;
  await scheduler?.start();
  await worker?.start();

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      try {
        await api?.stop();
        await worker?.stop(config.workerGraceMs);
        await scheduler?.stop();
        services.quotas.stop();
        await services.dispatcher.close();
        await services.queues.close();
        await services.taskState.close();
        await ds.destroy();
        redis.disconnect();
        subscriber.disconnect();
      } finally {
        // Last, after every hand-back and connection, even when a step above failed.
        await embedded?.stop();
      }
    })());

  return { services, api, worker, scheduler, stop };
}
