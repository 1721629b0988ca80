import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from './support/dag-helpers';
import { collect, missesNothingAcross, waitSubscribed } from './support/event-helpers';
import { freePort } from './support/private-stores';
import { ok, startTestApp, type TestApp } from './support/test-app';

/**
 * A TCP proxy in front of the shared Redis for one app: `sever` closes its connections and
 * refuses new ones (that app alone loses Redis), `restore` takes connections again.
 */
class RedisProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  static async start(target: string): Promise<RedisProxy> {
    const p = new RedisProxy(await freePort(), new URL(target));
    await p.restore();
    return p;
  }

  /** The target URL (database number and all) through this proxy. */
  get url(): string {
    const u = new URL(this.target);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(Number(this.target.port || 6379), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  async sever(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }
}

interface JobEv {
  cursor: string;
  taskId: string;
  state: string;
}
const JOB_SUB = `subscription ($d: ID!) { jobStatusChanged(dagId: $d) { cursor taskId state } }`;

describe('a live subscription across a drop of its api process’s Redis connection', () => {
  let proxy: RedisProxy;
  let api: TestApp;
  let relay: TestApp;

  beforeAll(async () => {
    proxy = await RedisProxy.start(inject('redisUrl'));
    // The api reaches Redis through the proxy; the relay (scheduler role) directly.
    // Key checks trusted for a minute: within a test, only a check made when the bus is back
    // can close a socket whose key was revoked while this process was away.
    api = await startTestApp({ roles: ['api'], env: { REDIS_URL: proxy.url, AUTH_CACHE_MS: '60000' } });
    relay = await startTestApp({ roles: ['scheduler'] });
  });

  afterAll(async () => {
    await proxy?.restore().catch(() => undefined);
    await api?.stop();
    await relay?.stop();
    await proxy?.sever();
  });

  it('receives, in order and once each, the events published while the api was away from Redis', async () => {
    const { key, tenantId } = await api.tenant('submitter');
    await missesNothingAcross(
      { api, relay, key, tenantId },
      async () => {
        await proxy.sever();
        await waitFor(async () => api.app.services.redis.status !== 'ready', 5_000, 'the api to lose Redis');
      },
      () => proxy.restore(),
    );
  }, 60_000);

  it('closes the sockets of a key revoked while the api was away from Redis, once it is back', async () => {
    const admin = await api.tenant('admin');
    const made = ok(
      await api.gql<{ createApiKey: { key: string; apiKey: { id: string } } }>(
        'mutation { createApiKey(input: { name: "wall", role: READER }) { key apiKey { id } } }',
        {},
        admin.key,
      ),
    ).createApiKey;
    let code = 0;
    const live = collect<JobEv>(api.ws(made.key, { onClosed: (c) => (code = c) }), JOB_SUB, { d: 'any' });
    await waitSubscribed(api, admin.tenantId, 1);

    await proxy.sever();
    await waitFor(async () => api.app.services.redis.status !== 'ready', 5_000, 'the api to lose Redis');
    // Revoked through the relay's process: its API_KEY_REVOKED message is not heard by the api.
    await relay.app.services.apiKeys.revoke(admin.tenantId, made.apiKey.id);
    // Revoked through the api itself, which cannot publish now: the revocation still stands.
    const other = ok(
      await api.gql<{ createApiKey: { apiKey: { id: string } } }>(
        'mutation { createApiKey(input: { name: "spare", role: READER }) { apiKey { id } } }',
        {},
        admin.key,
      ),
    ).createApiKey.apiKey.id;
    const revoked = ok(
      await api.gql<{ revokeApiKey: { revokedAt: string } }>(
        'mutation ($id: ID!) { revokeApiKey(id: $id) { revokedAt } }',
        { id: other },
        admin.key,
      ),
    );
    expect(revoked.revokeApiKey.revokedAt).toBeTruthy();
    await proxy.restore();

    await waitFor(async () => code === 4403, 10_000, 'close 4403 once the api is back');
    expect(live.items).toEqual([]);
  }, 60_000);
});
