import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { OPENLINEAGE_ENV, openLineageConfig, type OpenLineageEmitConfig } from './openlineage-config';
import { redisTarget, redisTargetUrl, type RedisTarget } from './redis-target';

export type { ClusterNode, RedisTarget } from './redis-target';
export type { OpenLineageEmitConfig } from './openlineage-config';

/**
 * The only reader of process.env. Every variable is validated once; all bad ones are
 * reported together; the result is typed and frozen. Timings are configuration so tests
 * run with short values.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const optionalUrl = z
  .string()
  .trim()
  .min(1)
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  DATABASE_URL: optionalUrl,
  DATA_DIR: z.string().default('.data'),
  // Checked together by redisTarget(): a redis:// URL, or a cluster (redis+cluster:// URL or node list).
  REDIS_URL: z.string().optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('marie'),
  AUTH_CACHE_MS: int(0, 60_000).default(5_000),
  AUTH_BOOTSTRAP_KEY: z.string().min(24, 'at least 24 characters').optional(),
  GRAPHQL_MAX_DEPTH: int(2, 100).default(15),
  GRAPHQL_MAX_COST: int(10).default(50_000),
  GRAPHQL_MAX_ALIASES: int(1).default(100),
  GRAPHQL_MAX_OPERATIONS: int(1).default(5),
  HTTP_BODY_LIMIT: z.string().default('32mb'),
  WS_CONNECTION_INIT_TIMEOUT_MS: int(1, 600_000).default(3_000),
  LEASE_MS: int(100).default(30_000),
  HEARTBEAT_MS: int(50).default(10_000),
  SWEEP_INTERVAL_MS: int(20).default(1_000),
  RETRY_DELAY_UNIT_MS: int(1).default(1_000),
  WORKER_STALE_MS: int(100).default(60_000),
  WORKER_ID: z.string().optional(),
  WORKER_GRACE_MS: int(0).default(10_000),
  NOOP_CONCURRENCY: int(1, 1000).default(8),
  DB_POOL_SIZE: int(1, 1000).default(20),
  GROUP_COMMIT_IN_FLIGHT: int(1, 64).default(1),
  EAGER_DISPATCH: bool.default(true),
  WORKER_CONFIG: z.string().optional(),
  NVIDIA_SMI_PATH: z.string().min(1).default('nvidia-smi'),
  PUBLIC_API_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/]+/, 'an http(s) URL, e.g. http://api:4000/graphql')
    .optional(),
  EXECUTOR_STATUS_TIMEOUT_MS: int(10, 60_000).default(2_000),
  LINEAGE_NODE_CAP: int(1).default(10_000),
  // At most 20 million: an edge is sorted as one number, from·keys + to, exact below 2^53.
  LINEAGE_GRAPH_CACHE_EDGES: int(0, 20_000_000).default(1_000_000),
  EVENT_RETENTION_DAYS: z.coerce.number().positive().default(7),
  EVENT_SUBSCRIBER_BUFFER: int(1, 10_000_000).default(10_000),
  DAG_RETENTION_DAYS: z.coerce.number().positive().default(30),
  CALLBACK_SECRET: z.string().min(16).optional(),
  ATTEMPT_TOKEN_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  CALLBACK_ALLOW_LIST: z.string().default(''),
  TASK_STATE_URL: z.string().optional(),
  TASK_STATE_MAX_VALUE_BYTES: int(1, 64 * 1024 * 1024).default(1024 * 1024),
  TASK_STATE_S3_ENDPOINT: optionalUrl,
  TASK_STATE_S3_REGION: z.string().default('us-east-1'),
  TASK_STATE_S3_ACCESS_KEY_ID: z.string().optional(),
  TASK_STATE_S3_SECRET_ACCESS_KEY: z.string().optional(),
  TASK_STATE_S3_FORCE_PATH_STYLE: bool.default(false),
  STORAGE_URL: z.string().default('file://.data/storage'),
  METRICS_ENABLED: bool.default(true),
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  QUOTAS_FILE: z.string().min(1).optional(),
  GRAPHIQL: bool.optional(),
  ...OPENLINEAGE_ENV,
});

export type AppConfig = Readonly<{
  env: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  host: string;
  logLevel: string;
  /** Unset: pretty when stdout is a terminal, JSON otherwise (src/lib/logger.ts). */
  logFormat: 'pretty' | 'json' | undefined;
  databaseUrl: string | undefined;
  /** The most connections this process opens to PostgreSQL (its pool). */
  dbPoolSize: number;
  /** How many group-commit transactions of starts and completions one process runs at once. */
  groupCommitInFlight: number;
  /**
   * A ready job claimed in a process whose worker consumes its queue with a slot free runs
   * there at once, not through BullMQ (src/worker/queue-consumers.ts, `runHere`).
   */
  eagerDispatch: boolean;
  dataDir: string;
  /** REDIS_URL as given (default redis://127.0.0.1:6379); a cluster as its redis+cluster:// URL. */
  redisUrl: string;
  /** One node or a Redis Cluster: connect through src/lib/redis.ts, which tells them apart. */
  redis: RedisTarget;
  queuePrefix: string;
  authBootstrapKey: string | undefined;
  authCacheMs: number;
  graphql: Readonly<{ maxDepth: number; maxCost: number; maxAliases: number; maxOperations: number }>;
  httpBodyLimit: string;
  /** How long a graphql-ws socket may stay open without a ConnectionInit before it is closed (4408). */
  wsConnectionInitTimeoutMs: number;
  timings: Readonly<{
    leaseMs: number;
    heartbeatMs: number;
    sweepIntervalMs: number;
    retryDelayUnitMs: number;
    workerStaleMs: number;
  }>;
  workerId: string | undefined;
  workerGraceMs: number;
  noopConcurrency: number;
  workerConfig: string | undefined;
  /** The nvidia-smi a worker runs to find its GPUs (a name on PATH or a path). */
  nvidiaSmiPath: string;
  /**
   * The GraphQL endpoint's full URL as remote executors reach it (PUBLIC_API_URL); null:
   * derived from HOST and the api's port (see publicApiUrlOf).
   */
  publicApiUrl: string | null;
  /** How long GET /api/executors/:name/status waits for a worker's reply. */
  executorStatusTimeoutMs: number;
  lineageNodeCap: number;
  /** Edges of tenants' asset graphs an api process may hold in memory for walks (0: every walk in SQL). */
  lineageGraphCacheEdges: number;
  eventRetentionDays: number;
  /** Events one subscriber may have queued before it is closed (4409) to resume later. */
  eventSubscriberBuffer: number;
  dagRetentionDays: number;
  callbackSecret: string | undefined;
  /** The HMAC key of attempt tokens (ATTEMPT_TOKEN_SECRET, else `<DATA_DIR>/attempt-token.secret` outside production). */
  attemptTokenSecret: string;
  callbackAllowList: readonly string[];
  taskStateUrl: string | undefined;
  taskState: Readonly<{
    maxValueBytes: number;
    s3: Readonly<{
      endpoint: string | undefined;
      region: string;
      accessKeyId: string | undefined;
      secretAccessKey: string | undefined;
      forcePathStyle: boolean;
    }>;
  }>;
  storageUrl: string;
  metricsEnabled: boolean;
  /** The operator's scrape secret: /metrics with `Authorization: Bearer <it>` adds the per-tenant gauges. */
  metricsToken: string | undefined;
  /** The fair-share policy file (YAML), re-read on SIGHUP and every minute; unset: equal weights, no caps. */
  quotasFile: string | undefined;
  /** GraphiQL at /graphiql: on outside production; in production only with GRAPHIQL=true. */
  graphiql: boolean;
  /** OpenLineage out (OPENLINEAGE_URL); null: our runs are not emitted. */
  openLineage: OpenLineageEmitConfig | null;
}>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The variables of a `.env` file (none when it is absent). */
export function readDotEnv(file = '.env'): Record<string, string | undefined> {
  return existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
}

/** process.env over the `.env` of the working directory: real environment variables win. */
export function environment(
  env: Record<string, string | undefined> = process.env,
  file = '.env',
): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...readDotEnv(file) };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  return merged;
}

/** Validate an environment (process.env over `.env` by default) into a frozen, typed config. */
export function loadConfig(
  env: Record<string, string | undefined> = environment(),
  overrides: Record<string, string | undefined> = {},
): AppConfig {
  const merged: Record<string, string | undefined> = { ...env, ...overrides };
  // Treat empty strings as unset so `.env` files with `FOO=` do not fail validation.
  for (const [k, v] of Object.entries(merged)) if (v === '') delete merged[k];
  const parsed = schema.safeParse(merged);
  const redis = redisTarget(merged.REDIS_URL, merged.REDIS_CLUSTER_NODES);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (!redis.ok) problems.push(`${redis.key}: ${redis.problem}`);
  if (!parsed.success || !redis.ok) throw new ConfigError(problems);
  const c = parsed.data;
  return deepFreeze({
    env: c.NODE_ENV,
    isProduction: c.NODE_ENV === 'production',
    port: c.PORT,
    host: c.HOST,
    logLevel: c.LOG_LEVEL,
    logFormat: c.LOG_FORMAT,
    databaseUrl: c.DATABASE_URL,
    dbPoolSize: c.DB_POOL_SIZE,
    groupCommitInFlight: c.GROUP_COMMIT_IN_FLIGHT,
    eagerDispatch: c.EAGER_DISPATCH,
    dataDir: c.DATA_DIR,
    redisUrl: redisTargetUrl(redis.value),
    redis: redis.value,
    queuePrefix: c.QUEUE_PREFIX,
    authBootstrapKey: c.AUTH_BOOTSTRAP_KEY,
    authCacheMs: c.AUTH_CACHE_MS,
    graphql: {
      maxDepth: c.GRAPHQL_MAX_DEPTH,
      maxCost: c.GRAPHQL_MAX_COST,
      maxAliases: c.GRAPHQL_MAX_ALIASES,
      maxOperations: c.GRAPHQL_MAX_OPERATIONS,
    },
    httpBodyLimit: c.HTTP_BODY_LIMIT,
    wsConnectionInitTimeoutMs: c.WS_CONNECTION_INIT_TIMEOUT_MS,
    timings: {
      leaseMs: c.LEASE_MS,
      heartbeatMs: c.HEARTBEAT_MS,
      sweepIntervalMs: c.SWEEP_INTERVAL_MS,
      retryDelayUnitMs: c.RETRY_DELAY_UNIT_MS,
      workerStaleMs: c.WORKER_STALE_MS,
    },
    workerId: c.WORKER_ID,
    workerGraceMs: c.WORKER_GRACE_MS,
    noopConcurrency: c.NOOP_CONCURRENCY,
    workerConfig: c.WORKER_CONFIG,
    nvidiaSmiPath: c.NVIDIA_SMI_PATH,
    publicApiUrl: c.PUBLIC_API_URL ?? null,
    executorStatusTimeoutMs: c.EXECUTOR_STATUS_TIMEOUT_MS,
    lineageNodeCap: c.LINEAGE_NODE_CAP,
    lineageGraphCacheEdges: c.LINEAGE_GRAPH_CACHE_EDGES,
    eventRetentionDays: c.EVENT_RETENTION_DAYS,
    eventSubscriberBuffer: c.EVENT_SUBSCRIBER_BUFFER,
    dagRetentionDays: c.DAG_RETENTION_DAYS,
    callbackSecret: c.CALLBACK_SECRET,
    attemptTokenSecret: attemptTokenSecret(c.ATTEMPT_TOKEN_SECRET, c.NODE_ENV === 'production', c.DATA_DIR),
    callbackAllowList: c.CALLBACK_ALLOW_LIST.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    taskStateUrl: c.TASK_STATE_URL,
    taskState: {
      maxValueBytes: c.TASK_STATE_MAX_VALUE_BYTES,
      s3: {
        endpoint: c.TASK_STATE_S3_ENDPOINT,
        region: c.TASK_STATE_S3_REGION,
        accessKeyId: c.TASK_STATE_S3_ACCESS_KEY_ID,
        secretAccessKey: c.TASK_STATE_S3_SECRET_ACCESS_KEY,
        forcePathStyle: c.TASK_STATE_S3_FORCE_PATH_STYLE,
      },
    },
    storageUrl: c.STORAGE_URL,
    metricsEnabled: c.METRICS_ENABLED,
    metricsToken: c.METRICS_TOKEN,
    quotasFile: c.QUOTAS_FILE,
    graphiql: c.GRAPHIQL ?? c.NODE_ENV !== 'production',
    openLineage: openLineageConfig(c),
  });
}

/** Where the generated attempt-token secret lives when ATTEMPT_TOKEN_SECRET is unset (outside production). */
export const attemptTokenSecretFile = (dataDir: string): string => path.join(dataDir, 'attempt-token.secret');

/**
 * ATTEMPT_TOKEN_SECRET when set. Otherwise, outside production, the secret generated once
 * into DATA_DIR (mode 0600) and reused by every process that shares it; in production a
 * ConfigError naming the variable.
 */
export function attemptTokenSecret(value: string | undefined, isProduction: boolean, dataDir: string): string {
  if (value) return value;
  if (isProduction) {
    throw new ConfigError(['ATTEMPT_TOKEN_SECRET: required in production (at least 32 characters)']);
  }
  const file = attemptTokenSecretFile(dataDir);
  const read = () => (existsSync(file) ? readFileSync(file, 'utf8').trim() : '');
  const existing = read();
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true });
  // Written whole under a temporary name, then linked into place: a concurrent process
  // either wins the link or reads the winner's complete file.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return read();
}

/**
 * The GraphQL URL remote executors call back: PUBLIC_API_URL, else this host (127.0.0.1
 * for a wildcard HOST) on the api's listening port (`apiPort`, when it runs here) or PORT.
 */
export function publicApiUrlOf(config: Pick<AppConfig, 'publicApiUrl' | 'host' | 'port'>, apiPort?: number): string {
  if (config.publicApiUrl) return config.publicApiUrl;
  const wildcard = config.host === '0.0.0.0' || config.host === '::' || config.host === '';
  const host = wildcard ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${apiPort ?? config.port}/graphql`;
}

/** What the `marie` client commands read: the server, the key and where `marie login` keeps them. */
export function clientEnv(env: Record<string, string | undefined> = environment()): {
  url: string | undefined;
  key: string | undefined;
  configDir: string;
} {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return { url: env.MARIE_URL || undefined, key: env.MARIE_KEY || undefined, configDir: path.join(base, 'marie') };
}

/** Variables only the test harness reads (still here: this module is the only env reader). */
export function testEnv(env: Record<string, string | undefined> = process.env): {
  testDatabaseUrl: string | undefined;
  redisUrl: string;
} {
  return {
    testDatabaseUrl: env.TEST_DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
  };
}

/**
 * Whether npm started this process (`npm start`, `npm run …`, `npx`; npm sets
 * npm_lifecycle_event): the server then stops when npm goes away (src/app/shutdown.ts).
 */
export function launchedByNpm(env: Record<string, string | undefined> = process.env): boolean {
  return !!env.npm_lifecycle_event;
}
