import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { uiDirectory } from '../../src/server/static-ui';

/** Debian's chromium (`.ci/run` installs it when absent). */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve(__dirname, '../../test-artifacts/screenshots');

export interface Session {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Every URL the pages asked for, and every console message about the CSP. */
  requests: string[];
  cspViolations: string[];
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Headless Chromium with every request and CSP complaint recorded. */
export async function openBrowser(): Promise<Session> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  if (!uiDirectory()) throw new Error('dist/ui is missing: run `npm run build` (npm test does) first');
  await mkdir(SCREENSHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const requests: string[] = [];
  const cspViolations: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  context.on('page', (p) => p.on('websocket', (ws) => requests.push(ws.url())));
  context.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text().slice(0, 300));
  });
  context.on('weberror', (e) => cspViolations.push(`page error: ${e.error().message}`));
  const page = await context.newPage();
  page.on('websocket', (ws) => requests.push(ws.url()));
  return {
    browser,
    context,
    page,
    requests,
    cspViolations,
    async screenshot(name) {
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
    },
    async close() {
      await context.close();
      await browser.close();
    },
  };
}

/** Sign in on `page` by pasting `key`; resolves once the header shows who is signed in. */
export async function signIn(page: Page, base: string, key: string): Promise<void> {
  await page.goto(`${base}/`);
  // Signed out first: the key of an earlier sign-in stays in this tab's sessionStorage.
  await page.evaluate('sessionStorage.clear()');
  await page.goto(`${base}/`);
  await page.fill('input[name=apiKey]', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=who]', { timeout: 15_000 });
}
