import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startApp, type App, type Role } from '../../src/app/app';
import { loadConfig } from '../../src/config/config';
import type { RoleName } from '../../src/core/policy';
import { createLogger, type Logger } from '../../src/lib/logger';
import type { ExecutorInvoker } from '../../src/core/executor-call';

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown[] }>;
  headers: Headers;
}

export interface TestApp {
  app: App;
  url: string;
  wsUrl: string;
  /** A fresh tenant with a key of `role`. */
  tenant(role?: RoleName, slug?: string): Promise<{ tenantId: string; slug: string; key: string }>;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    key?: string,
  ): Promise<GqlResponse<T>>;
  /** A typed document from test/graphql (see codegen.yml). */
  op<R, V extends Record<string, unknown>>(
    doc: TypedDocumentNode<R, V>,
    variables: V,
    key?: string,
  ): Promise<GqlResponse<R>>;
  ws(key: string | null, opts?: { onClosed?: (code: number, reason: string) => void }): WsClient;
  stop(): Promise<void>;
}

/** Short timings so no test waits for a production-length lease. */
export const TEST_TIMINGS = {
  LEASE_MS: '2000',
  HEARTBEAT_MS: '300',
  SWEEP_INTERVAL_MS: '100',
  RETRY_DELAY_UNIT_MS: '100',
  WORKER_STALE_MS: '3000',
};

/** The attempt-token secret of every test app. */
export const TEST_ATTEMPT_TOKEN_SECRET = 'test-attempt-token-secret-0123456789abcdef';

export function testConfig(overrides: Record<string, string | undefined> = {}) {
  return loadConfig(
    {},
    {
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: inject('queuePrefix'),
      METRICS_ENABLED: 'false',
      // Statement-count tests count the key check too; the cache has its own test.
      AUTH_CACHE_MS: '0',
      // Fixed, so no test writes a generated secret (and production-mode apps start).
      ATTEMPT_TOKEN_SECRET: TEST_ATTEMPT_TOKEN_SECRET,
      ...TEST_TIMINGS,
      ...overrides,
    },
  );
}

export async function startTestApp(
  opts: {
    roles?: Role[];
    env?: Record<string, string | undefined>;
    executors?: ExecutorInvoker[];
    /** A logger of the test's own (to read what the server logs). */
    log?: Logger;
  } = {},
): Promise<TestApp> {
  const config = testConfig(opts.env);
  const log = opts.log ?? createLogger(config.logLevel);
  const app = await startApp({ config, log, roles: opts.roles ?? ['api'], executors: opts.executors });
  const port = app.api?.port ?? 0;
  const url = `http://127.0.0.1:${port}/graphql`;
  const wsUrl = `ws://127.0.0.1:${port}/graphql`;
  const clients: WsClient[] = [];
  async function gql<T>(query: string, variables?: Record<string, unknown>, key?: string): Promise<GqlResponse<T>> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as Omit<GqlResponse<T>, 'status' | 'headers'>;
    return { status: res.status, headers: res.headers, ...body };
  }
  return {
    app,
    url,
    wsUrl,
    async tenant(role: RoleName = 'admin', slug = `t-${randomBytes(4).toString('hex')}`) {
      const svc = app.services.apiKeys;
      const t = await svc.ensureTenant(slug);
      const { key } = await svc.create(t.id, `${role}-key`, role);
      return { tenantId: t.id, slug, key };
    },
    gql,
    op(doc, variables, key) {
      return gql(print(doc), variables, key);
    },
    ws(key, o = {}) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => undefined,
        connectionParams: key ? { authorization: `Bearer ${key}` } : {},
        on: { closed: (e) => o.onClosed?.((e as { code: number }).code, (e as { reason: string }).reason) },
      });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map(async (c) => c.dispose()));
      await app.stop();
    },
  };
}

/** The data of a response that must have no errors. */
export function ok<T>(res: GqlResponse<T>): T {
  if (res.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
  if (!res.data) throw new Error(`no data (HTTP ${res.status})`);
  return res.data;
}

/** The code of the first error. */
export const codeOf = (res: GqlResponse<unknown>): unknown => res.errors?.[0]?.extensions?.code;
