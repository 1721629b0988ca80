import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppConfig } from '../config/config';

/** Paths the dashboard's client-side routing never answers: the API and the probes. */
const NOT_THE_APP = /^\/(graphql|api|metrics|healthz|readyz|static)(\/|$)/;

/** A Host header we are willing to echo into connect-src (host, optional port; no scheme, no path). */
const SAFE_HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/;

/**
 * The dashboard's Content-Security-Policy: nothing but this origin. No inline or eval'd
 * script, no external host for anything; WebSockets only back to the host that served
 * the page (ws:// and wss://: CSP's 'self' does not cover them in every browser).
 */
export function contentSecurityPolicy(host: string | undefined): string {
  const sockets = host && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The built dashboard (`npm run build` → dist/ui), found from this file in src/ or dist/src/. */
export function uiDirectory(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'dist', 'ui');
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
    if (existsSync(path.join(dir, 'package.json'))) break;
    dir = path.dirname(dir);
  }
  return undefined;
}

function securityHeaders(req: Request, res: Response): void {
  res.setHeader('content-security-policy', contentSecurityPolicy(req.headers.host));
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
}

/**
 * The dashboard at `/` and GraphiQL at `/graphiql` (when config.graphiql): hashed files
 * under /static/ cached for a year, HTML pages revalidated, client routes answered with
 * index.html. Installed after the other routes; it leaves /graphql (but a browser's
 * GET of it), /api, /metrics and the probes to them.
 */
export function installStaticUi(app: express.Express, config: AppConfig, dir = uiDirectory()): void {
  const sendPage = (file: string) => (req: Request, res: Response) => {
    securityHeaders(req, res);
    if (!dir) {
      res.status(404).type('text/plain').send('The dashboard is not built: run `npm run build`.\n');
      return;
    }
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(path.join(dir, file));
  };

  // A browser opening /graphql gets GraphiQL instead of Apollo's CDN-loaded landing page.
  app.get('/graphql', (req: Request, res: Response, next: NextFunction) => {
    if (config.graphiql && req.accepts(['application/json', 'text/html']) === 'text/html') {
      res.redirect(302, '/graphiql');
      return;
    }
    next();
  });
  if (config.graphiql) app.get('/graphiql', sendPage('graphiql.html'));

  if (dir) {
    app.use(
      '/static',
      express.static(path.join(dir, 'static'), {
        index: false,
        immutable: true,
        maxAge: '365d',
        setHeaders: (res) => res.setHeader('x-content-type-options', 'nosniff'),
      }),
    );
  }

  const index = sendPage('index.html');
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (NOT_THE_APP.test(req.path) || req.path === '/graphiql') return next();
    // A file-like path (favicon.ico, robots.txt) that is not a client route.
    if (path.extname(req.path)) return next();
    index(req, res);
  });
}
