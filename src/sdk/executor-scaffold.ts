import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ScaffoldOptions {
  /** Folder the project folder is made in; the process directory by default. */
  dir?: string;
  /** Import path of the SDK as the generated files should write it; by default a relative path to this repository's src/sdk. */
  sdkImport?: string;
  /** Write into an existing, non-empty folder. */
  force?: boolean;
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

const relImport = (from: string, to: string) => {
  const rel = path.relative(from, to).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
};

/**
 * Write a new executor project into `<dir>/<Name>/`: `<name>.executor.ts`, `config.yml`,
 * `<name>.test.ts` (vitest), `vitest.config.mts` (this repository's test setup, scoped to
 * the folder) and a README. The generated test passes as generated:
 * `npx vitest run --config <Name>/vitest.config.mts` from the repository root.
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
  const sdk = opts.sdkImport ?? relImport(root, path.join(repo, 'src', 'sdk'));
  const repoConfig = relImport(root, path.join(repo, 'vitest.config.mts'));

  const files: Record<string, string> = {
    [`${base}.executor.ts`]: `import { z } from 'zod';
import { Executor, requests, type CallContext, type ExecutorInput } from '${sdk}';

/** Configuration (\`with:\` in config.yml), checked when the executor is created. */
const WithSchema = z.object({
  greeting: z.string().default('Hello'),
});

/** Parameters of /process (\`data.parameters\` of a job), checked before each call. */
const ProcessParams = z.object({
  name: z.string().min(1).default('world'),
});

export class ${className} extends Executor<z.infer<typeof WithSchema>> {
  static override withSchema = WithSchema;
  /** Recorded with every asset this executor persists; change it when the code changes. */
  override codeFingerprint = '${base}@0.1.0';

  @requests({ on: '/process', params: ProcessParams })
  async process(input: ExecutorInput<z.infer<typeof ProcessParams>>, ctx: CallContext) {
    await ctx.progress(10, 'started');
    const message = \`\${this.with.greeting}, \${input.parameters.name}!\`;
    const { assets } = await ctx.persist([
      {
        assetKey: '${base}/output',
        data: { message, documents: input.docs.map((d) => d.id ?? null) },
        kind: 'json',
        metadata: { documentCount: input.docs.length },
      },
    ]);
    return { message, assets: assets.map(({ assetKey, version, uri }) => ({ assetKey, version, uri })) };
  }

  override async close(): Promise<void> {
    // Release models, connections, files here: the worker calls close() on shutdown.
  }
}
`,
    'config.yml': `# ${className}: load it with loadExecutorConfig('config.yml') or
# \`npx marie worker --config ${name}/config.yml\`. Paths are relative to this file.
storage: file://./.data/storage
executors:
  - jtype: ${className}
    modules: [./${base}.executor.ts]
    with:
      greeting: Hello
    metas:
      name: ${base}
      description: ${name} executor
    concurrency: 1
`,
    [`${base}.test.ts`]: `import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createStorage,
  createTestCallContext,
  ExecutorHost,
  loadExecutorConfig,
  NonRetryableError,
  type Storage,
} from '${sdk}';
import { ${className} } from './${base}.executor';

describe('${className}', () => {
  let tmp: string;
  let storage: Storage;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), '${base}-'));
    storage = createStorage(\`file://\${tmp}\`);
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('loads from config.yml and persists its output as a recorded asset', async () => {
    const [host] = await loadExecutorConfig(path.join(__dirname, 'config.yml'), { storage });
    expect(host!.name).toBe('${base}');
    const ctx = createTestCallContext({ endpoint: '/process' });
    const out = (await host!.invoke({ docs: [{ id: 'd1' }], parameters: { name: 'Marie' } }, ctx)) as {
      message: string;
    };
    expect(out.message).toBe('Hello, Marie!');
    expect(ctx.assets.calls).toHaveLength(1);
    const [asset] = ctx.assets.recorded;
    expect(asset!.assetKey).toBe('${base}/output');
    expect(asset!.version).toMatch(/^v:sha256:[0-9a-f]{64}$/);
    expect(JSON.parse((await storage.get(asset!.uri!)).toString())).toEqual({ message: 'Hello, Marie!', documents: ['d1'] });
    await host!.close();
  });

  it('fails bad parameters without retry', async () => {
    const host = new ExecutorHost(new ${className}(), { storage });
    const err = await host
      .invoke({ parameters: { name: '' } }, createTestCallContext({ endpoint: '/process' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toContain('parameters.name');
  });
});
`,
    'vitest.config.mts': `import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '${repoConfig}';

// The repository's test setup (SWC for decorators), scoped to this folder and without the
// database set-up that the repository's own tests need.
export default defineConfig({
  ...base,
  root: fileURLToPath(new URL('.', import.meta.url)),
  test: { ...base.test, include: ['**/*.test.ts'], exclude: ['**/node_modules/**', '**/.data/**'], globalSetup: [] },
});
`,
    'README.md': `# ${className}

A Marie executor made with \`marie executor new ${name}\`.

- \`${base}.executor.ts\`: the executor. \`@requests({ on: '/process', params })\` marks an
  endpoint; a job with \`executor: "${base}"\` and \`name: "/process"\` calls it with
  \`{ docs, parameters }\` (its \`data\`) and a context (dag and task ids, try, partition
  key, \`signal\`, \`progress()\`, \`assets\`, \`persist()\`). \`@requests()\` with no \`on\`
  would take every endpoint name nothing else matches.
- \`config.yml\`: how a worker loads it (\`jtype\`, \`modules\`, \`with\`, \`metas\`, \`concurrency\`).
- \`${base}.test.ts\`: runs it through \`ExecutorHost\` with an in-memory asset tracker.

Run the test from the repository root:

\`\`\`sh
npx vitest run --config ${name}/vitest.config.mts
\`\`\`

The SDK is imported from \`${sdk}\` (the repository's \`src/sdk/index.ts\`).
`,
  };

  await mkdir(root, { recursive: true });
  const written: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const p = path.join(root, file);
    await writeFile(p, text);
    written.push(p);
  }
  return { root, files: written, className };
}
