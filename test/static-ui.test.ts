import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy, uiDirectory } from '../src/server/static-ui';
import { ok, startTestApp, type TestApp } from './support/test-app';

// The api role serves the built dashboard (npm run build → dist/ui): static files with
// caching headers, client routes answered with index.html, a strict CSP, GraphiQL outside
// production only unless GRAPHIQL=true, and Query.me for what the UI may offer.

let t: TestApp;
let base: string;

beforeAll(async () => {
  if (!uiDirectory()) throw new Error('dist/ui is missing: run `npm run build` (npm test does) first');
  t = await startTestApp();
  base = t.url.replace(/\/graphql$/, '');
});
afterAll(async () => t?.stop());

const get = (url: string, accept = 'text/html') => fetch(url, { headers: { accept }, redirect: 'manual' });

describe('the dashboard, served', () => {
  it('answers / and client routes with index.html, under a CSP that allows only this origin', async () => {
    for (const p of ['/', '/runs', '/runs/some-dag', '/assets/ocr/text', '/lineage/a/b', '/fleet']) {
      const res = await get(`${base}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const html = await res.text();
      expect(html).toContain('<div id="root">');
      // No inline script: every <script> has a src on this origin.
      expect(html).not.toMatch(/<script(?![^>]*\ssrc="\/static\/)[^>]*>/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).toContain(`connect-src 'self' ws://${new URL(base).host} wss://${new URL(base).host}`);
    }
  });

  it('serves hashed files for a year and leaves the API, probes and unknown files alone', async () => {
    const dir = uiDirectory() as string;
    const js = readdirSync(path.join(dir, 'static')).find((f) => f.endsWith('.js')) as string;
    const asset = await get(`${base}/static/${js}`, '*/*');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable/);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);

    expect((await get(`${base}/static/nope.js`, '*/*')).status).toBe(404);
    expect((await get(`${base}/favicon.ico`, '*/*')).status).toBe(404);
    const api = await get(`${base}/api/nothing-here`);
    expect(api.status).toBe(404);
    expect(await api.text()).not.toContain('<div id="root">');
    expect((await get(`${base}/healthz`, '*/*')).status).toBe(200);
    const gql = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(gql.headers.get('content-type')).toMatch(/json/);
  });

  it('sends a browser opening /graphql to the bundled GraphiQL, never to a CDN page', async () => {
    const res = await get(t.url);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/graphiql');
    const page = await get(`${base}/graphiql`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<div id="graphiql">');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("answers `me` with the key's role and the actions it may take", async () => {
    const { key: readerKey } = await t.tenant('reader');
    const r = ok(await t.gql<{ me: { role: string; allowed: string[] } }>('{ me { role allowed } }', {}, readerKey));
    expect(r.me.role).toBe('READER');
    expect(r.me.allowed).toEqual(['read', 'subscribe']);
    const { key } = await t.tenant('submitter', 'me-submitter-' + Date.now());
    const s = ok(
      await t.gql<{ me: { role: string; tenant: string; allowed: string[] } }>(
        '{ me { role tenant allowed } }',
        {},
        key,
      ),
    );
    expect(s.me.role).toBe('SUBMITTER');
    expect(s.me.tenant).toMatch(/^me-submitter-/);
    expect(s.me.allowed).toEqual(expect.arrayContaining(['dag.submit', 'dag.cancel', 'dag.retry']));
    expect(s.me.allowed).not.toContain('apikey.manage');
    expect((await t.gql('{ me { role } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('GraphiQL in production', () => {
  it('is off unless GRAPHIQL=true', async () => {
    for (const [env, expected] of [
      [{}, 404],
      [{ GRAPHIQL: 'true' }, 200],
    ] as const) {
      const app = await startTestApp({ env: { NODE_ENV: 'production', ...env } });
      try {
        const root = app.url.replace(/\/graphql$/, '');
        expect((await get(`${root}/graphiql`)).status, JSON.stringify(env)).toBe(expected);
        // The dashboard itself is served in production too.
        expect((await get(`${root}/runs`)).status).toBe(200);
      } finally {
        await app.stop();
      }
    }
  });

  it('builds the CSP only from a well-formed Host', () => {
    expect(contentSecurityPolicy('evil.example; script-src *')).toContain("connect-src 'self';");
    expect(contentSecurityPolicy('localhost:4000')).toContain('ws://localhost:4000 wss://localhost:4000');
  });
});
