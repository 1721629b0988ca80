import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pythonProject } from './scaffold-python';
import { typeScriptProject } from './scaffold-typescript';

/** The port a generated Python executor serves on (and its config.yml names). */
export const DEFAULT_PYTHON_PORT = 8700;

export interface ScaffoldOptions {
  /** Folder the project folder is made in; the process directory by default. */
  dir?: string;
  /** Import path of the SDK as the generated files should write it; by default a relative path to this repository's src/sdk. */
  sdkImport?: string;
  /** Write into an existing, non-empty folder. */
  force?: boolean;
  /** A Python executor (marie_cp, served over HTTP, a RemoteExecutor for the worker) instead of a TypeScript one. */
  python?: boolean;
  /** The port of a Python executor; DEFAULT_PYTHON_PORT by default. */
  port?: number;
}

export interface ScaffoldResult {
  /** The project folder. */
  root: string;
  files: string[];
  className: string;
}

/** The repository root: the nearest folder above this module with a package.json. */
function repoRoot(): string {
  for (let d = __dirname; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) throw new Error('cannot find the marie repository root');
  }
}

const kebab = (s: string) =>
  s
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();

/** Whether `dir` lies outside the repository `repo`. */
const isOutside = (repo: string, dir: string) => {
  const rel = path.relative(repo, dir);
  return rel.startsWith('..') || path.isAbsolute(rel);
};

const relImport = (from: string, to: string) => {
  const rel = path.relative(from, to).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
};

/**
 * Write a new executor project into `<dir>/<Name>/`. TypeScript: `<name>.executor.ts`,
 * `config.yml`, `<name>.test.ts` (vitest), `vitest.config.mts` (this repository's test
 * setup, scoped to the folder) and a README; its test passes as generated (`npx vitest run`
 * in the folder), and `npx marie worker --config <Name>/config.yml` runs it on plain Node
 * (the worker transpiles `.ts` modules on load). Outside the repository the folder gets a
 * `node_modules` link to the repository's. Python (`python`): see scaffold-python.ts.
 */
export async function scaffoldExecutor(name: string, opts: ScaffoldOptions = {}): Promise<ScaffoldResult> {
  if (!/^[A-Z][A-Za-z0-9]{0,63}$/.test(name)) {
    throw new Error(`executor name "${name}" must be PascalCase letters and digits, e.g. InvoiceParser`);
  }
  const root = path.resolve(opts.dir ?? process.cwd(), name);
  if (existsSync(root) && (await readdir(root)).length > 0 && !opts.force) {
    throw new Error(`${root} exists and is not empty (use --force to write into it)`);
  }
  const className = name.endsWith('Executor') ? name : `${name}Executor`;
  const base = kebab(name.replace(/Executor$/, '') || name);
  const repo = repoRoot();

  const outside = isOutside(repo, root);
  const where = outside ? root : path.relative(repo, root).split(path.sep).join('/');
  const files = opts.python
    ? pythonProject({
        name,
        className,
        base,
        sdkPath: path.join(repo, 'sdk', 'python'),
        port: opts.port ?? DEFAULT_PYTHON_PORT,
        where,
      })
    : typeScriptProject({
        name,
        className,
        base,
        sdk: opts.sdkImport ?? relImport(root, path.join(repo, 'src', 'sdk')),
        repoConfig: relImport(root, path.join(repo, 'vitest.config.mts')),
        outside,
        where,
      });

  await mkdir(root, { recursive: true });
  const written: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const p = path.join(root, file);
    await writeFile(p, text);
    written.push(p);
  }
  // Outside the repository nothing resolves zod, vitest or the SDK's packages from here:
  // link the repository's node_modules, so the test (and `npx vitest`) run in this folder.
  const modules = path.join(root, 'node_modules');
  if (!opts.python && outside && !existsSync(modules)) {
    await symlink(path.join(repo, 'node_modules'), modules, 'dir');
    written.push(modules);
  }
  return { root, files: written, className };
}
