import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { loadWorkerInvokers } from '../src/app/worker-executors';
import { buildCli } from '../src/cli';
import { scaffoldExecutor } from '../src/sdk/executor-scaffold';
import { RemoteExecutor } from '../src/worker/remote';
import { jobOf, submitDag, waitForDag } from './support/dag-helpers';
import { killGroup, launch, logLine } from './support/spawned';
import { startTestApp, TEST_ATTEMPT_TOKEN_SECRET, TEST_TIMINGS, type TestApp } from './support/test-app';

const run = promisify(execFile);
const repo = path.resolve(__dirname, '..');
const out = path.join(repo, '.data', 'scaffold-test', String(process.pid));
const CLI = path.join(repo, 'dist/src/cli.js');
let outside: string;

beforeAll(async () => {
  // A folder outside the repository (no node_modules above it).
  outside = await realpath(await mkdtemp(path.join(os.tmpdir(), 'marie-scaffold-')));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
  if (outside) await rm(outside, { recursive: true, force: true });
});

/** `marie executor new …` in-process; what it printed. */
async function cli(...args: string[]): Promise<string> {
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await buildCli().parseAsync(['node', 'marie', 'executor', 'new', ...args]);
    return stdout.mock.calls.map((c) => String(c[0])).join('');
  } finally {
    stdout.mockRestore();
  }
}

const failed = (what: string) => (e: { stdout?: string; stderr?: string; message: string }) => {
  throw new Error(`${what} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
};

/** This process's environment (what python3 may need, e.g. pyenv's) without PYTHONPATH. */
const { PYTHONPATH: _pythonPath, ...withoutPythonPath } = process.env;

const plainEnv = { PATH: process.env.PATH, HOME: process.env.HOME, FORCE_COLOR: '0', NO_COLOR: '1' };

describe('marie executor new', () => {
  it('writes a project whose own test passes as generated', { timeout: 120_000 }, async () => {
    expect(await cli('InvoiceParser', '--dir', out)).toContain('InvoiceParserExecutor is ready');
    const root = path.join(out, 'InvoiceParser');
    const executor = await readFile(path.join(root, 'invoice-parser.executor.ts'), 'utf8');
    expect(executor).toContain('export class InvoiceParserExecutor extends Executor');
    expect(executor).toContain(`from '../../../../src/sdk'`);
    expect(await readFile(path.join(root, 'config.yml'), 'utf8')).toContain('jtype: InvoiceParserExecutor');
    await expect(readFile(path.join(root, 'README.md'), 'utf8')).resolves.toContain('# InvoiceParserExecutor');
    // Inside the repository its packages resolve through the repository's node_modules.
    expect(existsSync(path.join(root, 'node_modules'))).toBe(false);

    // Run the generated test from the repository root, in a separate vitest process.
    const res = await run(
      process.execPath,
      [
        path.join(repo, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--config',
        path.join(root, 'vitest.config.mts'),
      ],
      { cwd: repo, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } },
    ).catch(failed('generated test'));
    expect(res.stdout).toMatch(/Tests\s+2 passed \(2\)/);
    expect(res.stdout).toContain('invoice-parser.test.ts');
  });

  it('--dir outside the repository: the generated test runs there (npx vitest run)', { timeout: 120_000 }, async () => {
    await cli('Outside', '--dir', outside);
    const root = path.join(outside, 'Outside');
    // node_modules links to the repository's, so zod and vitest resolve from the folder.
    expect((await lstat(path.join(root, 'node_modules'))).isSymbolicLink()).toBe(true);
    expect(await realpath(path.join(root, 'node_modules'))).toBe(await realpath(path.join(repo, 'node_modules')));
    const res = await run('npx', ['--no', 'vitest', 'run'], { cwd: root, env: plainEnv }).catch(
      failed('npx vitest run in the generated folder'),
    );
    expect(res.stdout).toMatch(/Tests\s+2 passed \(2\)/);
    expect(res.stdout).toContain('outside.test.ts');
  });

  describe('the generated config.yml on plain Node (npx marie worker --config)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ roles: ['api', 'scheduler'] });
    });
    afterAll(async () => {
      await t?.stop();
    });

    it('loads the .ts executor, logs "started", runs a job with it, and exits 0 on SIGTERM', async () => {
      expect(existsSync(CLI), 'dist/ is built (npm run build)').toBe(true);
      await cli('PlainNode', '--dir', outside);
      const root = path.join(outside, 'PlainNode');
      const worker = launch(process.execPath, [CLI, 'worker', '--config', path.join(root, 'config.yml')], {
        ...plainEnv,
        DATABASE_URL: inject('databaseUrl'),
        REDIS_URL: inject('redisUrl'),
        QUEUE_PREFIX: inject('queuePrefix'),
        NVIDIA_SMI_PATH: path.join(outside, 'no-nvidia-smi'),
        LOG_LEVEL: 'info',
        STORAGE_URL: `file://${outside}/storage`,
        ATTEMPT_TOKEN_SECRET: TEST_ATTEMPT_TOKEN_SECRET,
        ...TEST_TIMINGS,
      });
      try {
        expect(await logLine(worker, 'executors loaded')).toMatchObject({
          executors: [{ name: 'plain-node', concurrency: 1, gpu: false }],
        });
        await logLine(worker, 'started');
        expect(worker.output()).not.toContain('Unknown file extension');

        const { key } = await t.tenant('submitter');
        const dagId = `scaffold-${process.pid}-${Date.now()}`;
        await submitDag(t, key, {
          id: dagId,
          name: 'scaffold',
          jobs: [
            {
              id: 'hello',
              executor: 'plain-node',
              name: '/process',
              data: { docs: [{ id: 'd1' }], parameters: { name: 'Node' } },
            },
          ],
        });
        const d = await waitForDag(t, key, dagId, ['COMPLETED', 'FAILED'], 60_000);
        expect(jobOf(d, 'hello')).toMatchObject({ state: 'COMPLETED', output: { message: 'Hello, Node!' } });

        process.kill(worker.pgid, 'SIGTERM');
        expect(await worker.exited).toEqual({ code: 0, signal: null });
      } finally {
        killGroup(worker);
      }
    }, 120_000);
  });

  it('--python: a marie_cp executor whose unittest passes where it was written, and a RemoteExecutor config', async () => {
    const printed = await cli('Summarizer', '--python', '--port', '8765', '--dir', outside);
    expect(printed).toContain('SummarizerExecutor is ready');
    const root = path.join(outside, 'Summarizer');
    const executor = await readFile(path.join(root, 'summarizer_executor.py'), 'utf8');
    expect(executor).toContain('from marie_cp import Executor, NonRetryableError, requests');
    expect(executor).toContain('class SummarizerExecutor(Executor):');
    const config = await readFile(path.join(root, 'config.yml'), 'utf8');
    expect(config).toContain('jtype: RemoteExecutor');
    expect(config).toContain('url: http://127.0.0.1:8765');
    expect(config).toMatch(/metas:\s+name: summarizer/);
    expect(await readFile(path.join(root, 'README.md'), 'utf8')).toContain('python3 serve.py --port 8765');
    // marie_cp is found through the path written at generation time: no PYTHONPATH here.
    expect(await readFile(path.join(root, 'marie_sdk_path.py'), 'utf8')).toContain(
      JSON.stringify(path.join(repo, 'sdk', 'python')),
    );
    const res = await run('python3', ['-m', 'unittest'], {
      cwd: root,
      env: { ...withoutPythonPath, PYTHONDONTWRITEBYTECODE: '1' },
    }).catch(failed('python3 -m unittest in the generated folder'));
    expect(res.stderr).toMatch(/Ran 3 tests[\s\S]*\nOK\n/);
    // The worker reads its config.yml as a RemoteExecutor pointing at serve.py's port.
    const [remote] = await loadWorkerInvokers(path.join(root, 'config.yml'), {
      storageUrl: `file://${outside}/storage`,
    });
    try {
      expect(remote).toBeInstanceOf(RemoteExecutor);
      expect(remote).toMatchObject({ name: 'summarizer', concurrency: 1, url: 'http://127.0.0.1:8765' });
    } finally {
      await remote.close?.();
    }
  }, 120_000);

  it('refuses a bad name, a bad port and a non-empty folder', async () => {
    await expect(scaffoldExecutor('bad-name', { dir: out })).rejects.toThrow('must be PascalCase');
    await expect(cli('Porty', '--python', '--port', '70000', '--dir', out)).rejects.toThrow(
      'a whole number from 1 to 65535',
    );
    expect(existsSync(path.join(out, 'Porty'))).toBe(false);
    await scaffoldExecutor('Twice', { dir: out });
    await expect(scaffoldExecutor('Twice', { dir: out })).rejects.toThrow('exists and is not empty');
    await expect(scaffoldExecutor('Twice', { dir: out, force: true })).resolves.toMatchObject({
      className: 'TwiceExecutor',
    });
  });
});
