import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ROOT } from './support/spawned';

describe('exit codes', () => {
  it('the test command exits non-zero when a test fails, also on the embedded database (no TEST_DATABASE_URL)', async () => {
    // `vitest run` as `npm test` runs it, with the project's config and global setup, on a
    // fixture that fails; without TEST_DATABASE_URL the global setup starts an embedded
    // PostgreSQL, whose package's exit hook used to turn every exit code into 0.
    const child = spawn('npm', ['run', 'test:only', '--', '--config', 'test/fixtures/exit-code/vitest.config.mts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: inject('redisUrl') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(out).toContain('fails on purpose');
    expect(out).toMatch(/Tests\s.*1 failed/);
    expect(code, out).toBe(1);
  }, 120_000);
});
