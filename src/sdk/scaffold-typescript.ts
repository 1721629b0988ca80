/** The files of a TypeScript executor project (see scaffoldExecutor). */
export interface TypeScriptTemplateInput {
  name: string;
  className: string;
  /** kebab-case name: files, the executor's name and its asset keys. */
  base: string;
  /** Import path of the SDK in the generated files. */
  sdk: string;
  /** Import path of the repository's vitest.config.mts. */
  repoConfig: string;
  /** The project lies outside the repository (its node_modules links to the repository's). */
  outside: boolean;
  /** The project folder as written from the repository root. */
  where: string;
}

export function typeScriptProject({
  name,
  className,
  base,
  sdk,
  repoConfig,
  outside,
  where,
}: TypeScriptTemplateInput): Record<string, string> {
  return {
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
# \`npx marie worker --config ${where}/config.yml\` from the repository root (plain Node
# compiles the .ts module as it loads it). Paths are relative to this file.
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
    // Decorators with their metadata, as the repository compiles them (SWC reads this too).
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          noImplicitOverride: true,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          esModuleInterop: true,
          skipLibCheck: true,
          noEmit: true,
          types: ['node'],
        },
        include: ['*.ts'],
      },
      null,
      2,
    )}\n`,
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
- \`tsconfig.json\`: decorators and their metadata, as the repository compiles them.
- \`config.yml\`: how a worker loads it (\`jtype\`, \`modules\`, \`with\`, \`metas\`, \`concurrency\`).
- \`${base}.test.ts\`: runs it through \`ExecutorHost\` with an in-memory asset tracker.

Run the test in this folder:

\`\`\`sh
npx vitest run
\`\`\`

and the executor on a worker, from the repository root (plain Node: the worker compiles
\`.ts\` executor modules as it loads them):

\`\`\`sh
npx marie worker --config ${where}/config.yml
\`\`\`

The SDK is imported from \`${sdk}\` (the repository's \`src/sdk/index.ts\`).${
      outside
        ? `
Outside the repository, \`node_modules\` is a link to the repository's, so \`zod\`, \`vitest\`
and the SDK's own packages resolve from here.`
        : ''
    }
`,
  };
}
