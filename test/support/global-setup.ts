import { deleteKeysByPrefix } from '../../src/lib/redis';
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { testEnv } from '../../src/config/config';
import { createMigratedDatabase } from './migrated-database';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/db/embedded-postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    adminDatabaseUrl: string;
    redisUrl: string;
    queuePrefix: string;
  }
}

/**
 * One database and one BullMQ/Redis prefix per test run: created here, migrated once,
 * dropped (and the Redis keys deleted) at the end. TEST_DATABASE_URL names a server to
 * create it on; without it an embedded PostgreSQL is started in a temporary folder.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = testEnv();
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  let embedded: EmbeddedPostgresHandle | null = null;
  let tmp: string | null = null;
  let serverUrl = env.testDatabaseUrl;
  if (!serverUrl) {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-test-pg-'));
    await chmod(tmp, 0o755); // the cluster runs as the postgres user when we are root
    embedded = await startEmbeddedPostgres(path.join(tmp, 'pg'), { database: 'postgres' });
    serverUrl = embedded.url;
  }
  const db = await createMigratedDatabase(serverUrl, `marie_test_${runId}`);
  const databaseUrl = db.url;

  const queuePrefix = `marie-test-${runId}`;
  project.provide('databaseUrl', databaseUrl);
  project.provide('adminDatabaseUrl', serverUrl);
  project.provide('redisUrl', env.redisUrl);
  project.provide('queuePrefix', queuePrefix);

  return async () => {
    const redis = new Redis(env.redisUrl);
    try {
      await deleteKeysByPrefix(redis, queuePrefix);
    } finally {
      redis.disconnect();
    }
    await db.drop();
    await embedded?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  };
}
