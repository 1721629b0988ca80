import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The repository (package) root: the nearest folder above this module with a package.json. */
function packageRoot(): string {
  for (let d = __dirname; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return path.resolve(__dirname, '../../..');
  }
}

/** Whether this process runs the TypeScript sources (vitest, vite-node) rather than dist/. */
export const runsTypeScript = (): boolean => __filename.endsWith('.ts');

/**
 * The compiled twin under dist/ of a `.ts` file of this repository (`npm run build`
 * compiles src/ and examples/), or null when there is none.
 */
export function compiledTwin(abs: string): string | null {
  if (!abs.endsWith('.ts')) return null;
  const root = packageRoot();
  const rel = path.relative(root, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const twin = path.join(root, 'dist', rel).replace(/\.ts$/, '.js');
  return existsSync(twin) ? twin : null;
}

interface LoadableModule {
  exports: unknown;
  paths: string[];
  _compile(code: string, filename: string): void;
}

interface TypeScriptApi {
  transpileModule(
    input: string,
    opts: { compilerOptions: Record<string, unknown>; fileName: string },
  ): { outputText: string };
  ModuleKind: { CommonJS: number };
  ScriptTarget: { ES2022: number };
}

const localRequire = createRequire(__filename);
let installed = false;

/**
 * Teach plain Node's `require` to load `.ts` files: a file with a compiled twin under
 * dist/ is that twin (so an executor module importing `<repo>/src/sdk` shares this
 * process's SDK), any other is transpiled in memory by the TypeScript compiler (the
 * repository's `typescript`, with decorators and their metadata, as tsconfig.json has
 * them) and may import this repository's packages (zod, …) from wherever it lies.
 */
function installTypeScriptLoader(): void {
  if (installed) return;
  installed = true;
  const nodeModules = path.join(packageRoot(), 'node_modules');
  let ts: TypeScriptApi | undefined;
  const extensions = localRequire.extensions as unknown as Record<string, (m: LoadableModule, file: string) => void>;
  extensions['.ts'] = (m, file) => {
    const twin = compiledTwin(file);
    if (twin) {
      m.exports = localRequire(twin);
      return;
    }
    try {
      ts ??= localRequire('typescript') as TypeScriptApi;
    } catch {
      throw new Error(
        `cannot load ${file} on plain Node: the "typescript" package is not installed (npm ci installs it), or compile it to .js`,
      );
    }
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        esModuleInterop: true,
        inlineSourceMap: true,
      },
    });
    if (!m.paths.includes(nodeModules)) m.paths.push(nodeModules);
    m._compile(outputText, file);
  };
}

/**
 * Load an executor module given by its absolute path: under a TypeScript-aware runner as it
 * is, else a `.ts` file through its compiled twin or the in-memory transpiler above, and
 * anything else (`.js`, `.mjs`, `.cjs`) with `import()`.
 */
export async function importExecutorModule(abs: string): Promise<Record<string, unknown>> {
  if (abs.endsWith('.ts') && !runsTypeScript()) {
    installTypeScriptLoader();
    return localRequire(abs) as Record<string, unknown>;
  }
  return (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
}
