import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, inject, it } from 'vitest';
import { environment, loadConfig } from '../src/config/config';
import { chooseLogFormat, createLogger } from '../src/lib/logger';
import { waitFor } from './support/dag-helpers';
import { cliEnv } from './support/cli';

const ROOT = path.resolve(__dirname, '..');

/** A stream that says whether it is a terminal, and keeps what was written. */
function sink(isTTY: boolean) {
  const s = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  s.on('data', (b: Buffer) => (text += b.toString('utf8')));
  return { stream: s, text: () => text };
}

describe('log format', () => {
  it('LOG_FORMAT wins; unset, a terminal gets pretty lines and anything else JSON', () => {
    expect(chooseLogFormat(undefined, true)).toBe('pretty');
    expect(chooseLogFormat(undefined, false)).toBe('json');
    expect(chooseLogFormat(undefined, undefined)).toBe('json');
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
  });

  it('a terminal destination gets a readable line; a pipe gets one JSON object a line', async () => {
    const tty = sink(true);
    createLogger('info', 'marie', undefined, tty.stream).info({ roles: ['api'] }, 'started');
    await waitFor(async () => tty.text().includes('started'), 5_000, 'the pretty line');
    expect(() => JSON.parse(tty.text().trim()) as unknown).toThrow();
    expect(tty.text()).toMatch(/INFO.*started/);

    const pipe = sink(false);
    createLogger('info', 'marie', undefined, pipe.stream).info({ roles: ['api'] }, 'started');
    await waitFor(async () => pipe.text().includes('started'), 5_000, 'the JSON line');
    expect(JSON.parse(pipe.text().trim())).toMatchObject({ msg: 'started', name: 'marie', roles: ['api'] });

    const forced = sink(true);
    createLogger('info', 'marie', 'json', forced.stream).info('started');
    await waitFor(async () => forced.text().includes('started'), 5_000, 'the forced JSON line');
    expect(JSON.parse(forced.text().trim())).toMatchObject({ msg: 'started' });
  });

  it.each([
    ['unset (stdout is a pipe): JSON', undefined, true],
    ['LOG_FORMAT=pretty: readable lines', 'pretty', false],
  ])(
    'the server as users start it, %s',
    async (_label, format, json) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js'), '--role', 'api'], {
        cwd: ROOT,
        env: cliEnv({
          LOG_FORMAT: format,
          PORT: '0',
          HOST: '127.0.0.1',
          DATABASE_URL: inject('databaseUrl'),
          REDIS_URL: inject('redisUrl'),
          QUEUE_PREFIX: inject('queuePrefix'),
          METRICS_ENABLED: 'false',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
      const exited = new Promise<number | null>((r) => child.on('close', r));
      try {
        await waitFor(async () => /started/.test(out), 60_000, 'the server to start');
      } finally {
        child.kill('SIGTERM');
      }
      // The API role alone, NODE_ENV unset, stops on SIGTERM (it hung 30 s under Apollo's own handler).
      expect(await exited).toBe(0);
      const line = out.split('\n').find((l) => l.includes('started'))!;
      if (json) expect(JSON.parse(line)).toMatchObject({ msg: 'started', roles: ['api'] });
      else {
        expect(() => JSON.parse(line) as unknown).toThrow();
        expect(line).toMatch(/INFO.*started/);
      }
    },
    90_000,
  );
});

describe('.env', () => {
  it('is read before the configuration is parsed; real environment variables win', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'marie-env-'));
    try {
      const file = path.join(dir, '.env');
      await writeFile(file, '# comment\nLOG_LEVEL=debug\nPORT=5001\nLOG_FORMAT=pretty\nQUEUE_PREFIX="quoted"\n');
      const config = loadConfig(environment({ LOG_LEVEL: 'warn' }, file));
      expect(config).toMatchObject({ logLevel: 'warn', port: 5001, logFormat: 'pretty', queuePrefix: 'quoted' });
      // No file: the environment alone.
      expect(loadConfig(environment({}, path.join(dir, 'absent.env'))).port).toBe(4000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
