import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');

describe('Python executor SDK (sdk/python)', () => {
  it('passes its unittest suite', () => {
    const run = spawnSync('python3', ['-m', 'unittest', 'discover', '-s', 'sdk/python/tests', '-t', 'sdk/python'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', NVIDIA_SMI_PATH: '', MARIE_STORAGE_URL: '' },
      timeout: 120_000,
    });
    expect(run.error, 'python3 must be on PATH').toBeUndefined();
    // unittest reports on stderr: show it when the suite fails.
    expect({ status: run.status, report: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, report: '' });
    expect(run.stderr).toMatch(/Ran \d+ tests/);
  }, 180_000);
});
