import { dropDatabaseWhenIdle } from '../../src/db/drop-database';
import { deleteKeysByPrefix } from '../../src/lib/redis';
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Client, Pool } from 'pg';
import { startApp, type App, type Role } from '../../src/app/app';
import type { ExecutorInvoker } from '../../src/core/executor-call';
import { loadConfig } from '../../src/config/config';
import { createDataSource } from '../../src/db/data-source';
import { createLogger } from '../../src/lib/logger';

export type Size = 'tiny' | 'quick' | 'full';

export interface BenchOptions {
  size: Size;
  /** The server to create the benchmark database on. */
  serverUrl: string;
  redisUrl: string;
}

export interface BenchEnv {
  opts: BenchOptions;
  runId: string;
  databaseUrl: string;
  queuePrefix: string;
  /** A raw pg pool on the benchmark database (the baselines). */
  pg: Pool;
  /** Start the real app in-process on the benchmark database. */
  startApp(roles: Role[], env?: Record<string, string>, executors?: ExecutorInvoker[]): Promise<BenchApp>;
  /** Run `fn` with `synchronous_commit = off` for every new connection to the benchmark database (a diagnostic). */
  withAsyncCommit<T>(fn: () => Promise<T>): Promise<T>;
  /** A fresh Redis connection (closed by the caller). */
  redis(): Redis;
  close(): Promise<void>;
}

export interface BenchApp {
  app: App;
  url: string;
  wsUrl: string;
  /** A fresh tenant with an admin key. */
  tenant(): Promise<{ tenantId: string; key: string }>;
  // The benchmarks read the answers' fields directly; their shapes are the queries' own.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  gql<T = any>(query: string, variables: Record<string, unknown>, key: string): Promise<T>;
  stop(): Promise<void>;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A database of its own, migrated; a BullMQ prefix of its own; both removed by close(). */
export async function createBenchEnv(opts: BenchOptions): Promise<BenchEnv> {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const dbName = `marie_bench_${runId}`;
  const admin = new Client({ connectionString: opts.serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const databaseUrl = withDatabase(opts.serverUrl, dbName);
  const ds = createDataSource({ url: databaseUrl });
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  await ds.destroy();
  const queuePrefix = `marie-bench-${runId}`;
  const pg = new Pool({ connectionString: databaseUrl, max: 4 });
  const apps = new Set<BenchApp>();

  return {
    opts,
    runId,
    databaseUrl,
    queuePrefix,
    pg,
    redis: () => new Redis(opts.redisUrl, { maxRetriesPerRequest: null }),
    async withAsyncCommit(fn) {
      await pg.query(`ALTER DATABASE ${dbName} SET synchronous_commit = off`);
      try {
        return await fn();
      } finally {
        await pg.query(`ALTER DATABASE ${dbName} RESET synchronous_commit`);
      }
    },
    async startApp(roles, env = {}, executors = []) {
      const config = loadConfig(
        {},
        {
          NODE_ENV: 'production',
          ATTEMPT_TOKEN_SECRET: 'bench-attempt-token-secret-0123456789abcd',
          PORT: '0',
          HOST: '127.0.0.1',
          LOG_LEVEL: 'silent',
          DATABASE_URL: databaseUrl,
          REDIS_URL: opts.redisUrl,
          QUEUE_PREFIX: queuePrefix,
          METRICS_ENABLED: 'false',
          GRAPHQL_MAX_COST: '10000000',
          WORKER_GRACE_MS: '1000',
          ...env,
        },
      );
      const app = await startApp({ config, log: createLogger('silent'), roles, executors });
      const port = app.api?.port ?? 0;
      const url = `http://127.0.0.1:${port}/graphql`;
      const b: BenchApp = {
        app,
        url,
        wsUrl: `ws://127.0.0.1:${port}/graphql`,
        async tenant() {
          const t = await app.services.apiKeys.ensureTenant(`bench-${randomBytes(4).toString('hex')}`);
          const { key } = await app.services.apiKeys.create(t.id, 'bench', 'admin');
          return { tenantId: t.id, key };
        },
        async gql(query, variables, key) {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify({ query, variables }),
          });
          const body = (await res.json()) as { data?: unknown; errors?: unknown[] };
          if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 500)}`);
          return body.data as never;
        },
        async stop() {
          apps.delete(b);
          await app.stop();
        },
      };
      apps.add(b);
      return b;
    },
    async close() {
      for (const a of [...apps]) await a.stop().catch(() => undefined);
      await pg.end();
      const redis = new Redis(opts.redisUrl);
      try {
        await deleteKeysByPrefix(redis, queuePrefix);
      } finally {
        redis.disconnect();
      }
      const c = new Client({ connectionString: opts.serverUrl });
      await c.connect();
      await dropDatabaseWhenIdle(c, dbName);
      await c.end();
    },
  };
}

/** Poll until `fn` is true or `timeoutMs` passes. */
export async function waitFor(fn: () => Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Wait until a DAG reaches a terminal state; throws unless COMPLETED. */
export async function waitForDag(pg: Pool, dagId: string, timeoutMs: number): Promise<void> {
  let state = '';
  await waitFor(async () => {
    const { rows } = await pg.query<{ state: string }>(`SELECT state FROM dags WHERE id = $1`, [dagId]);
    state = rows[0]?.state ?? '';
    return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(state);
  }, timeoutMs);
  if (state !== 'COMPLETED') throw new Error(`DAG ${dagId} ended ${state}`);
}

export const SUBMIT_DAG = `mutation($input: SubmitDagInput!) { submitDag(input: $input) { id } }`;

/**
 * The environment of a role process as deployed (`node dist/src/main.js --role …`) on the
 * benchmark's database, Redis and prefix, quiet and without metrics; `extra` adds or overrides.
 */
export function roleProcessEnv(env: BenchEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    ATTEMPT_TOKEN_SECRET: 'bench-attempt-token-secret-0123456789abcd',
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.opts.redisUrl,
    QUEUE_PREFIX: env.queuePrefix,
    LOG_LEVEL: 'warn',
    METRICS_ENABLED: 'false',
    ...extra,
  };
}
