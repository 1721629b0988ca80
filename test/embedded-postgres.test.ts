import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/app/app';
import { createLogger } from '../src/lib/logger';
import { testConfig } from './support/test-app';

describe('embedded PostgreSQL (no DATABASE_URL)', () => {
  let app: App | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await app?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts a cluster in a temporary folder, migrates it and answers a query', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'marie-embedded-'));
    await chmod(dir, 0o755);
    const config = testConfig({ DATABASE_URL: undefined, DATA_DIR: dir });
    expect(config.databaseUrl).toBeUndefined();
    app = await startApp({ config, log: createLogger('silent'), roles: ['api'] });
    expect(existsSync(path.join(dir, 'pg', 'PG_VERSION'))).toBe(true);
    const applied: Array<{ name: string }> = await app.services.ds.query('SELECT name FROM migrations');
    expect(applied.length).toBeGreaterThan(0);
    const tenant = await app.services.apiKeys.ensureTenant('embedded');
    const { key } = await app.services.apiKeys.create(tenant.id, 'k', 'reader');
    const res = await fetch(`http://127.0.0.1:${app.api!.port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: '{ workers { id } }' }),
    });
    expect(await res.json()).toEqual({ data: { workers: [] } });
  }, 120_000);
});
