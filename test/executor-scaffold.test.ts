import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildCli } from '../src/cli';
import { scaffoldExecutor } from '../src/sdk/executor-scaffold';

const run = promisify(execFile);
const repo = path.resolve(__dirname, '..');
const out = path.join(repo, '.data', 'scaffold-test', String(process.pid));

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('marie executor new', () => {
  it('writes a project whose own test passes as generated', { timeout: 120_000 }, async () => {
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let written = '';
    try {
      await buildCli().parseAsync(['node', 'marie', 'executor', 'new', 'InvoiceParser', '--dir', out]);
      written = stdout.mock.calls.map((c) => String(c[0])).join('');
    } finally {
      stdout.mockRestore();
    }
    expect(written).toContain('InvoiceParserExecutor is ready');
    const root = path.join(out, 'InvoiceParser');
    const executor = await readFile(path.join(root, 'invoice-parser.executor.ts'), 'utf8');
    expect(executor).toContain('export class InvoiceParserExecutor extends Executor');
    expect(executor).toContain(`from '../../../../src/sdk'`);
    expect(await readFile(path.join(root, 'config.yml'), 'utf8')).toContain('jtype: InvoiceParserExecutor');
    await expect(readFile(path.join(root, 'README.md'), 'utf8')).resolves.toContain('# InvoiceParserExecutor');

    // Run the generated test the way its README says, in a separate vitest process.
    const res = await run(
      process.execPath,
      [
        path.join(repo, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--config',
        path.join(root, 'vitest.config.mts'),
      ],
      { cwd: repo, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } },
    ).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`generated test failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    });
    expect(res.stdout).toMatch(/Tests\s+2 passed \(2\)/);
    expect(res.stdout).toContain('invoice-parser.test.ts');
  });

  it('refuses a bad name and a non-empty folder', async () => {
    await expect(scaffoldExecutor('bad-name', { dir: out })).rejects.toThrow('must be PascalCase');
    await scaffoldExecutor('Twice', { dir: out });
    await expect(scaffoldExecutor('Twice', { dir: out })).rejects.toThrow('exists and is not empty');
    await expect(scaffoldExecutor('Twice', { dir: out, force: true })).resolves.toMatchObject({
      className: 'TwiceExecutor',
    });
  });
});
