import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');

/** `python3 -m unittest discover` in `cwd`: the suite must pass. */
function unittest(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync('python3', ['-m', 'unittest', 'discover', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', NVIDIA_SMI_PATH: '', MARIE_STORAGE_URL: '', ...env },
    timeout: 120_000,
  });
  expect(run.error, 'python3 must be on PATH').toBeUndefined();
  // unittest reports on stderr: show it when the suite fails.
  expect({ status: run.status, report: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, report: '' });
  return run;
}

describe('Python executor SDK (sdk/python)', () => {
  it('passes its unittest suite', () => {
    expect(unittest(['-s', 'sdk/python/tests', '-t', 'sdk/python']).stderr).toMatch(/Ran \d+ tests/);
  }, 180_000);

  it('the Python classify and extract of the example pipeline pass theirs', () => {
    const dir = 'examples/document-pipeline/python';
    const run = unittest(['-s', `${dir}/tests`, '-t', dir], { PYTHONPATH: path.join(root, 'sdk/python') });
    expect(run.stderr).toMatch(/Ran (1[0-9]|[2-9][0-9]) tests/);
  }, 180_000);
});
