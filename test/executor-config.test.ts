import 'reflect-metadata';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCallContext, ExecutorConfigFileError, loadExecutorConfig } from '../src/sdk/index';
import { detectGpus } from '../src/worker/gpu';
import { closedExecutors } from './fixtures/executors/sample.executor';

const fixture = path.resolve(__dirname, 'fixtures/executors/sample.executor.ts');
let dir: string;
let n = 0;

/** Write a YAML file into the temp folder; `$MODULE` stands for the fixture module's relative path. */
async function yamlFile(text: string): Promise<string> {
  const file = path.join(dir, `executors-${++n}.yml`);
  await writeFile(file, text.replaceAll('$MODULE', path.relative(dir, fixture)));
  return file;
}

async function loadError(text: string): Promise<Error> {
  const file = await yamlFile(text);
  const err = await loadExecutorConfig(file, { storageUrl: `file://${dir}/out` }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ExecutorConfigFileError);
  return err as Error;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'marie-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadExecutorConfig', () => {
  it('loads several executors with with/metas/modules/concurrency/gpu/replicas, and close() reaches each', async () => {
    const file = await yamlFile(`
storage: file://./out
executors:
  - jtype: ThresholdExecutor
    modules: [$MODULE]
    with: { threshold: 0.8 }
    metas: { name: scorer, description: scores things, workspace: ./ws }
    concurrency: 3
    gpu: true
    replicas: 2
  - jtype: Echo
    metas: { name: echo, description: echoes }
`);
    const hosts = await loadExecutorConfig(file);
    expect(hosts.map((h) => [h.name, h.concurrency, h.requiresGpu, h.replicas.length])).toEqual([
      ['scorer', 3, true, 2],
      ['echo', 1, false, 1],
    ]);
    const [scorer, echo] = hosts;
    expect(scorer.replicas.map((r) => r.runtimeArgs)).toEqual([
      { replicaId: 0, replicas: 2 },
      { replicaId: 1, replicas: 2 },
    ]);
    expect(scorer.executor.metas).toEqual({
      name: 'scorer',
      description: 'scores things',
      workspace: path.join(dir, 'ws'),
    });
    expect(scorer.executor.workspace).toBe(path.join(dir, 'ws', 'scorer', '0'));
    expect(scorer.storage.url).toBe('file://./out');
    await expect(scorer.invoke({ docs: [{ id: 'a' }] }, createTestCallContext({ endpoint: 'score' }))).resolves.toEqual(
      { threshold: 0.8, replica: 0, docs: 1 },
    );
    await expect(echo.invoke({ x: 1 }, createTestCallContext({ endpoint: '/anything' }))).resolves.toEqual({
      echoed: { x: 1 },
      name: 'echo',
      description: 'echoes',
    });

    closedExecutors.length = 0;
    await Promise.all(hosts.map((h) => h.close()));
    expect(closedExecutors.sort()).toEqual(['echo#0', 'scorer#0', 'scorer#1']);
  });

  it('loads a single executor document and applies the with schema defaults', async () => {
    const file = await yamlFile(`
jtype: ThresholdExecutor
modules: $MODULE
`);
    const [host] = await loadExecutorConfig(file, { storageUrl: `file://${dir}/out` });
    expect(host.name).toBe('ThresholdExecutor');
    await expect(host.invoke({}, createTestCallContext({ endpoint: '/score' }))).resolves.toMatchObject({
      threshold: 0.5,
    });
    await host.close();
  });

  it('names the file and key of an unknown jtype', async () => {
    const err = await loadError(`
executors:
  - jtype: Echo
    modules: [$MODULE]
  - jtype: Foo
`);
    expect(err.message).toMatch(/executors-\d+\.yml: executors\[1\]\.jtype: unknown executor "Foo" \(known: .*Echo/);
  });

  it('names the file and key of a bad with value', async () => {
    const err = await loadError(`
executors:
  - jtype: ThresholdExecutor
    modules: [$MODULE]
    with: { threshold: 7 }
`);
    expect(err.message).toMatch(/executors-\d+\.yml: executors\[0\]\.with\.threshold: .*1/);
    const err2 = await loadError(`
executors:
  - jtype: ThresholdExecutor
    modules: [$MODULE]
    with: { threshold: "high" }
`);
    expect(err2.message).toMatch(/executors\[0\]\.with\.threshold: .*number/);
  });

  it('names unknown keys, bad values and bad shapes', async () => {
    expect(
      (
        await loadError(`
executors:
  - jtype: Echo
    modules: [$MODULE]
    concurency: 2
`)
      ).message,
    ).toMatch(/executors-\d+\.yml: executors\[0\]\.concurency: unknown key/);
    expect(
      (
        await loadError(`
executors:
  - jtype: Echo
    modules: [$MODULE]
    concurrency: 0
`)
      ).message,
    ).toMatch(/executors\[0\]\.concurrency: .*1/);
    expect(
      (
        await loadError(`
executors:
  - jtype: Echo
    modules: [$MODULE]
    metas: { name: "bad name!" }
`)
      ).message,
    ).toMatch(/executors\[0\]\.metas\.name: letters, digits/);
    expect((await loadError(`executors: []\n`)).message).toMatch(/executors-\d+\.yml: executors: /);
    expect((await loadError(`- just a list\n`)).message).toMatch(/expected a mapping/);
    expect((await loadError(`executors: [\n`)).message).toMatch(/executors-\d+\.yml: invalid YAML/);
  });

  it('names a module that cannot load, a duplicate name and a constructor failure', async () => {
    expect(
      (
        await loadError(`
executors:
  - jtype: Echo
    modules: [./missing.executor.js]
`)
      ).message,
    ).toMatch(/executors\[0\]\.modules\[0\]: cannot load module "\.\/missing\.executor\.js"/);
    expect(
      (
        await loadError(`
executors:
  - jtype: Echo
    modules: [$MODULE]
  - jtype: Echo
`)
      ).message,
    ).toMatch(/executors\[1\]\.metas\.name: duplicate executor name "Echo"/);
    expect(
      (
        await loadError(`
executors:
  - jtype: BrokenExecutor
    modules: [$MODULE]
`)
      ).message,
    ).toMatch(/executors-\d+\.yml: executors\[0\]: BrokenExecutor failed to start: model file missing/);
  });

  it('reports a missing file', async () => {
    const err = await loadExecutorConfig(path.join(dir, 'nope.yml')).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/nope\.yml: cannot read/);
  });
});

describe('GPU detection with a stand-in nvidia-smi', () => {
  const bin = path.resolve(__dirname, 'fixtures/bin');
  const unhealthyBin = path.resolve(__dirname, 'fixtures/bin-unhealthy');
  const saved = { ...process.env };
  const withPath = async <T>(p: string, env: Record<string, string>, fn: () => Promise<T>): Promise<T> => {
    process.env.PATH = `${p}${path.delimiter}${saved.PATH ?? ''}`;
    Object.assign(process.env, env);
    try {
      return await fn();
    } finally {
      process.env.PATH = saved.PATH;
      for (const k of Object.keys(env)) delete process.env[k];
    }
  };

  it('reads the GPUs the script prints', async () => {
    const probe = await withPath(
      bin,
      { FAKE_NVIDIA_SMI_OUTPUT: '0, NVIDIA H100 80GB HBM3, 81559, 1024, 37\n1, NVIDIA A10G, 23028, 0, 0' },
      () => detectGpus(),
    );
    expect(probe).toEqual({
      healthy: true,
      gpus: [
        { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 1024, utilizationPercent: 37 },
        { index: 1, name: 'NVIDIA A10G', memoryTotalMiB: 23028, memoryUsedMiB: 0, utilizationPercent: 0 },
      ],
    });
  });

  it('prints one configurable default GPU', async () => {
    const probe = await withPath(bin, {}, () => detectGpus());
    expect(probe.gpus.map((g) => g.name)).toEqual(['NVIDIA H100 80GB HBM3']);
  });

  it('reports unhealthy GPUs when nvidia-smi fails', async () => {
    expect(await withPath(unhealthyBin, {}, () => detectGpus())).toEqual({ healthy: false, gpus: [] });
    expect(await withPath(bin, { FAKE_NVIDIA_SMI_EXIT: '3' }, () => detectGpus())).toEqual({
      healthy: false,
      gpus: [],
    });
  });

  it('treats no nvidia-smi at all as healthy with no GPUs', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(dir, 'empty-bin');
    try {
      expect(await detectGpus()).toEqual({ healthy: true, gpus: [] });
    } finally {
      process.env.PATH = saved;
    }
  });
});
