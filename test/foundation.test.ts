import { spawn } from 'node:child_process';
import path from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiKeysDocument, RevokeApiKeyDocument } from './graphql/generated';
import { codeOf, ok, startTestApp, testConfig, type TestApp } from './support/test-app';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

describe('auth and tenancy', () => {
  it('answers a query with a key', async () => {
    const { key } = await t.tenant('reader');
    const res = await t.gql<{ workers: unknown[]; queues: unknown[] }>(
      '{ workers { id } queues { executor } }',
      {},
      key,
    );
    expect(ok(res)).toEqual({ workers: [], queues: [] });
  });

  it('refuses a query without a key, or with a bad one, as UNAUTHENTICATED', async () => {
    const none = await t.gql('{ workers { id } }');
    expect(codeOf(none)).toBe('UNAUTHENTICATED');
    expect(none.data).toBeFalsy();
    const bad = await t.gql('{ workers { id } }', {}, 'mk_not-a-real-key');
    expect(codeOf(bad)).toBe('UNAUTHENTICATED');
  });

  it('refuses createApiKey to a reader as FORBIDDEN and allows it to an admin', async () => {
    const { key: reader } = await t.tenant('reader');
    const q = 'mutation ($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { id role name } } }';
    const denied = await t.gql(q, { i: { name: 'x', role: 'READER' } }, reader);
    expect(codeOf(denied)).toBe('FORBIDDEN');
    const { key: admin } = await t.tenant('admin');
    const made = ok(
      await t.gql<{ createApiKey: { key: string; apiKey: { role: string; name: string } } }>(
        q,
        { i: { name: 'ci', role: 'SUBMITTER' } },
        admin,
      ),
    );
    expect(made.createApiKey.apiKey).toMatchObject({ role: 'SUBMITTER', name: 'ci' });
    expect(made.createApiKey.key).toMatch(/^mk_[A-Za-z0-9_-]{43}$/);
    // The new key works, with its role.
    const asSubmitter = await t.gql('{ apiKeys { id } }', {}, made.createApiKey.key);
    expect(codeOf(asSubmitter)).toBe('FORBIDDEN');
    const asReader = await t.gql('{ workers { id } }', {}, made.createApiKey.key);
    expect(asReader.errors).toBeUndefined();
  });

  it("shows each tenant only its own keys, and another tenant's key id reads as missing", async () => {
    const a = await t.tenant('admin');
    const b = await t.tenant('admin');
    const aKeys = ok(await t.op(ApiKeysDocument, {}, a.key)).apiKeys;
    const bKeys = ok(await t.op(ApiKeysDocument, {}, b.key)).apiKeys;
    expect(aKeys).toHaveLength(1);
    expect(bKeys).toHaveLength(1);
    expect(aKeys[0].id).not.toBe(bKeys[0].id);
    const cross = await t.op(RevokeApiKeyDocument, { id: bKeys[0].id }, a.key);
    expect(codeOf(cross)).toBe('NOT_FOUND');
    // b's key still works.
    expect((await t.op(ApiKeysDocument, {}, b.key)).errors).toBeUndefined();
  });

  it('rejects bad input with BAD_USER_INPUT and the field', async () => {
    const { key } = await t.tenant('admin');
    const res = await t.gql('mutation { createApiKey(input: { name: "", role: READER }) { key } }', {}, key);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe('name');
  });
});

describe('graphql-ws', () => {
  it('refuses a connection without a valid key and accepts one with it', async () => {
    const closed = new Promise<number>((resolve) => t.ws(null, { onClosed: (code) => resolve(code) }));
    expect(await closed).toBe(4403);
    const badClosed = new Promise<number>((resolve) => t.ws('mk_bad', { onClosed: (code) => resolve(code) }));
    expect(await badClosed).toBe(4403);

    const { key } = await t.tenant('reader');
    const client = t.ws(key);
    const result = await new Promise<unknown>((resolve, reject) => {
      client.subscribe({ query: '{ workers { id } }' }, { next: resolve, error: reject, complete: () => undefined });
    });
    expect(result).toEqual({ data: { workers: [] } });
  });

  it('closes the socket of a revoked key at once', async () => {
    const admin = await t.tenant('admin');
    const made = ok(
      await t.gql<{ createApiKey: { key: string; apiKey: { id: string } } }>(
        'mutation { createApiKey(input: { name: "watcher", role: READER }) { key apiKey { id } } }',
        {},
        admin.key,
      ),
    );
    let closedWith: number | null = null;
    const closed = new Promise<void>((resolve) =>
      t.ws(made.createApiKey.key, {
        onClosed: (code) => {
          closedWith = code;
          resolve();
        },
      }),
    );
    // Wait until the socket is acknowledged (a query answers), then revoke.
    const client = t.ws(made.createApiKey.key);
    await new Promise((resolve, reject) =>
      client.subscribe({ query: '{ workers { id } }' }, { next: resolve, error: reject, complete: () => undefined }),
    );
    await new Promise((r) => setTimeout(r, 100));
    const revoked = ok(
      await t.gql<{ revokeApiKey: { revokedAt: string } }>(
        'mutation ($id: ID!) { revokeApiKey(id: $id) { revokedAt } }',
        { id: made.createApiKey.apiKey.id },
        admin.key,
      ),
    );
    expect(revoked.revokeApiKey.revokedAt).toBeTruthy();
    await closed;
    expect(closedWith).toBe(4403);
    expect(codeOf(await t.gql('{ workers { id } }', {}, made.createApiKey.key))).toBe('UNAUTHENTICATED');
  });
});

describe('guard rails', () => {
  it('refuses a query nested past the depth limit before executing it', async () => {
    const { key } = await t.tenant('reader');
    let inner = 'name';
    for (let i = 0; i < 20; i++) inner = `ofType { ${inner} }`;
    const res = await t.gql(`{ __schema { types { fields { type { ${inner} } } } } }`, {}, key);
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0]?.message).toMatch(/depth/i);
    expect(res.data).toBeUndefined();
  });

  it('still admits the standard introspection query (outside production)', async () => {
    const { key } = await t.tenant('reader');
    const res = await t.gql(getIntrospectionQuery(), {}, key);
    expect(res.errors).toBeUndefined();
  });

  it('refuses a 1000-alias query', async () => {
    const { key } = await t.tenant('reader');
    const fields = Array.from({ length: 1000 }, (_, i) => `a${i}: workers { id }`).join(' ');
    const res = await t.gql(`{ ${fields} }`, {}, key);
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0]?.message).toMatch(/alias/i);
  });

  it('refuses batched HTTP requests', async () => {
    const { key } = await t.tenant('reader');
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify([{ query: '{ workers { id } }' }, { query: '{ workers { id } }' }]),
    });
    expect(res.status).toBe(400);
  });

  it('marks every GraphQL answer, data or error, uncacheable', async () => {
    const { key } = await t.tenant('reader');
    const post = (query: string) =>
      fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query }),
      });
    const good = await post('{ workers { id } }');
    expect(good.status).toBe(200);
    expect(good.headers.get('cache-control')).toBe('no-store');
    const bad = await post('{ workers { noSuchField } }');
    expect(bad.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a GET without a CSRF-safe header', async () => {
    const res = await fetch(`${t.url}?query=${encodeURIComponent('{ workers { id } }')}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/i);
  });

  it('masks an internal error and gives the request id', async () => {
    const { key } = await t.tenant('reader');
    // Break the table the resolver reads: Postgres answers with an error naming it.
    await t.app.services.ds.query('ALTER TABLE workers RENAME TO workers_gone');
    try {
      const res = await t.gql('{ workers { id } }', {}, key);
      expect(codeOf(res)).toBe('INTERNAL_SERVER_ERROR');
      expect(res.errors?.[0]?.message).toBe('Internal server error');
      expect(JSON.stringify(res.errors)).not.toMatch(/relation|does not exist|workers_gone/);
      const requestId = res.errors?.[0]?.extensions?.requestId;
      expect(requestId).toBe(res.headers.get('x-request-id'));
      expect(typeof requestId).toBe('string');
    } finally {
      await t.app.services.ds.query('ALTER TABLE workers_gone RENAME TO workers');
    }
  });
});

describe('health and metrics', () => {
  it('serves /healthz, /readyz and /metrics without tenant data', async () => {
    const base = t.url.replace('/graphql', '');
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'up' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/marie_graphql_requests_total/);
    expect(metrics).not.toMatch(/tenant/i);
  });

  it('names its Redis connections by role and pid, as its Postgres ones (CLIENT LIST)', async () => {
    const r = new Redis(inject('redisUrl'));
    try {
      const names = String(await r.client('LIST'))
        .split('\n')
        .map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? '');
      expect(names).toContain(`marie-api-${process.pid}`);
      expect(names).toContain(`marie-api-${process.pid}-sub`);
    } finally {
      r.disconnect();
    }
  });
});

describe('process', () => {
  // Runs the built server (`npm test` builds first), as `npm start` does.
  it('starts with --role api and exits 0 on SIGTERM', async () => {
    const cfg = testConfig();
    const root = path.resolve(__dirname, '..');
    const child = spawn(process.execPath, [path.join(root, 'dist/src/main.js'), '--role', 'api'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: cfg.databaseUrl,
        REDIS_URL: cfg.redisUrl,
        QUEUE_PREFIX: cfg.queuePrefix,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        NODE_ENV: 'test',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 60_000);
      child.stdout.on('data', () => {
        const m = /"port":(\d+)/.exec(out);
        if (m && out.includes('"started"')) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out).toMatch(/"stopped"/);
  }, 90_000);
});

describe('key cache', () => {
  it('trusts a checked key for AUTH_CACHE_MS without SQL, and a revocation (GraphQL or CLI) ends it at once', async () => {
    const c = await startTestApp({ env: { AUTH_CACHE_MS: '60000' } });
    try {
      const admin = await c.tenant('admin');
      const made = ok(
        await c.gql<{ createApiKey: { key: string; apiKey: { id: string } } }>(
          'mutation { createApiKey(input: { name: "cached", role: READER }) { key apiKey { id } } }',
          {},
          admin.key,
        ),
      );
      const key = made.createApiKey.key;
      expect((await c.gql('{ queues { executor } }', {}, key)).errors).toBeUndefined();
      await new Promise((r) => setTimeout(r, 200)); // the last_used_at touch is written off the request's path
      const before = c.app.services.sql.total;
      expect((await c.gql('{ queues { executor } }', {}, key)).errors).toBeUndefined();
      expect(c.app.services.sql.total - before).toBe(1); // the queues query alone, no key look-up
      ok(
        await c.gql(
          'mutation ($id: ID!) { revokeApiKey(id: $id) { id } }',
          { id: made.createApiKey.apiKey.id },
          admin.key,
        ),
      );
      expect(codeOf(await c.gql('{ queues { executor } }', {}, key))).toBe('UNAUTHENTICATED');

      // Revoked from another process (the CLI): the bus evicts it here too.
      const other = await c.app.services.apiKeys.create(admin.tenantId, 'cli-revoked', 'reader');
      expect((await c.gql('{ queues { executor } }', {}, other.key)).errors).toBeUndefined();
      const cfg = testConfig();
      const root = path.resolve(__dirname, '..');
      const revoke = spawn(
        process.execPath,
        [path.join(root, 'dist/src/cli.js'), 'apikey', 'revoke', other.apiKey.id],
        {
          cwd: root,
          env: {
            PATH: process.env.PATH,
            DATABASE_URL: cfg.databaseUrl,
            REDIS_URL: cfg.redisUrl,
            QUEUE_PREFIX: cfg.queuePrefix,
          },
          stdio: 'ignore',
        },
      );
      expect(await new Promise((r) => revoke.on('exit', r))).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(codeOf(await c.gql('{ queues { executor } }', {}, other.key))).toBe('UNAUTHENTICATED');
    } finally {
      await c.stop();
    }
  });
});
