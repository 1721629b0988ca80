import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { cliEnv } from './support/cli';

const ROOT = path.resolve(__dirname, '..');

describe('npm run demo', () => {
  it('runs the sample document pipeline end to end, prints its claims and their lineage, stops and exits 0', async () => {
    // The test database (DATABASE_URL), so the demo does not start a second embedded one.
    const child = spawn('npm', ['run', 'demo'], {
      cwd: ROOT,
      env: cliEnv({
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: inject('databaseUrl'),
        REDIS_URL: inject('redisUrl'),
        QUEUE_PREFIX: inject('queuePrefix'),
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, `${out}\n${err}`).toBe(0);
    expect(out).toMatch(/^dag claim-1-\d+ COMPLETED 100% 4\/4 completed$/m);
    expect(out).toContain('Claims extracted (3):');
    for (const claim of ['claim 12345  Jane Doe', 'claim 12346  John Smith', 'claim 12347  Ana Lopez']) {
      expect(out).toContain(claim);
    }
    expect(out).toMatch(/stored as file:\/\/\S+/);
    expect(out).toContain('  extract/claims ← ocr/text\n    ocr/text ← source/document\n      source/document\n');
  }, 180_000);
});
