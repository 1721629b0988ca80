import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorCallContext, ExecutorInvoker } from '../src/core/executor-call';
import { generateClaimsPdf } from '../examples/document-pipeline/generate-document';
import { createStorage, ExecutorHost, loadExecutorConfig, type Storage } from '../src/sdk/index';
import { submitDag, waitFor } from './support/dag-helpers';
import { documentPipelineDag } from './support/document-pipeline';
import { ok, startTestApp, type TestApp } from './support/test-app';

const CONFIG = path.resolve(__dirname, '../examples/document-pipeline/executors.yml');

/** Every executor call, by DAG and task. */
const calls: Array<{ dagId: string; taskId: string }> = [];
let hosts: ExecutorHost[];
let t: TestApp;
let tmp: string;
let storage: Storage;
let pdfUri: string;

/** The example's executors, each call counted (the code version is the executor's own). */
const counted = (inv: ExecutorInvoker): ExecutorInvoker => ({
  name: inv.name,
  concurrency: inv.concurrency,
  requiresGpu: inv.requiresGpu,
  get codeVersion() {
    return inv.codeVersion;
  },
  invoke(data: unknown, ctx: ExecutorCallContext) {
    calls.push({ dagId: ctx.dagId, taskId: ctx.taskId });
    return inv.invoke(data, ctx);
  },
  close: () => inv.close?.() ?? Promise.resolve(),
});

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-cache-e2e-'));
  storage = createStorage(`file://${tmp}/storage`);
  const executors = await loadExecutorConfig(CONFIG, { storage });
  hosts = executors;
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: executors.map(counted) });
  await mkdir(path.join(tmp, 'inbox'));
  await writeFile(path.join(tmp, 'inbox', 'claim-1.pdf'), await generateClaimsPdf());
  pdfUri = pathToFileURL(path.join(tmp, 'inbox', 'claim-1.pdf')).href;
}, 120_000);
afterAll(async () => {
  await t?.stop();
  await storage?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const DAG = `query ($id: ID!) { dag(id: $id) { state savedSeconds progress { completed cached }
  assetStatus { nodeTaskId isComplete }
  jobs { taskId state output attempts { outcome cachedFrom { dagId taskId } }
    materializations { assetKey version upstream { assetKey version } } } } }`;

interface DagView {
  state: string;
  savedSeconds: number;
  progress: { completed: number; cached: number };
  assetStatus: Array<{ nodeTaskId: string; isComplete: boolean }>;
  jobs: Array<{
    taskId: string;
    state: string;
    output: unknown;
    attempts: Array<{ outcome: string; cachedFrom: { dagId: string; taskId: string } | null }>;
    materializations: Array<{
      assetKey: string;
      version: string;
      upstream: Array<{ assetKey: string; version: string }>;
    }>;
  }>;
}

async function run(key: string, input: ReturnType<typeof documentPipelineDag>): Promise<DagView> {
  await submitDag(t, key, input);
  return waitFor(
    async () => {
      const d = ok(await t.gql<{ dag: DagView }>(DAG, { id: input.id }, key)).dag;
      return d.state === 'COMPLETED' || d.state === 'FAILED' ? d : null;
    },
    90_000,
    `DAG ${input.id} to finish`,
  );
}

/** The example pipeline with caching on (the DAG's default), `over` per job. */
function cachedPipeline(id: string, over: Record<string, Record<string, unknown>> = {}) {
  const d = documentPipelineDag(id, pdfUri);
  return { ...d, cache: { enabled: true }, jobs: d.jobs.map((j) => ({ ...j, ...over[j.id] })) };
}

const ranIn = (dagId: string) =>
  calls
    .filter((c) => c.dagId === dagId)
    .map((c) => c.taskId)
    .sort();
const outcomes = (d: DagView) =>
  Object.fromEntries(d.jobs.map((j) => [j.taskId, j.attempts.map((a) => a.outcome).join()]));
const lineageOf = (d: DagView) =>
  d.jobs
    .flatMap((j) =>
      j.materializations.map((m) => ({
        node: j.taskId,
        ...m,
        upstream: [...m.upstream].sort((a, b) => a.assetKey.localeCompare(b.assetKey)),
      })),
    )
    .sort((a, b) => a.assetKey.localeCompare(b.assetKey));

describe('memoised execution on the example document pipeline', () => {
  it("the YAML metas.version is each executor's code version", () => {
    expect(hosts.map((h) => [h.name, h.codeVersion])).toEqual([
      ['ocr', '1.0.0'],
      ['classify', '1.0.0'],
      ['extract', '1.0.0'],
      ['store', '1.0.0'],
    ]);
  });

  it('the same document twice: the second DAG makes no executor call, every job CACHED, assets complete, the same lineage', async () => {
    const { key } = await t.tenant('submitter');
    const a = await run(key, cachedPipeline(`first-${randomUUID()}`));
    expect(a.state).toBe('COMPLETED');
    const bId = `second-${randomUUID()}`;
    const b = await run(key, cachedPipeline(bId));
    expect(b.state).toBe('COMPLETED');
    expect(ranIn(bId)).toEqual([]);
    expect(Object.values(outcomes(b))).toEqual(['CACHED', 'CACHED', 'CACHED', 'CACHED']);
    expect(b.progress).toEqual({ completed: 4, cached: 4 });
    expect(b.savedSeconds).toBeGreaterThan(0);
    expect(b.assetStatus.map((s) => [s.nodeTaskId, s.isComplete]).sort()).toEqual([
      ['classify', true],
      ['extract', true],
      ['ocr', true],
      ['store', true],
    ]);
    expect(lineageOf(b)).toEqual(lineageOf(a));
    expect(lineageOf(b).length).toBeGreaterThanOrEqual(10);
    for (const j of b.jobs) expect(j.output).toEqual(a.jobs.find((x) => x.taskId === j.taskId)!.output);
  }, 240_000);

  it("after classify's code version changes, only classify and its dependents run again", async () => {
    const { key } = await t.tenant('submitter');
    await run(key, cachedPipeline(`v1-${randomUUID()}`));
    const classify = hosts.find((h) => h.name === 'classify')!.executor;
    const before = { version: classify.codeVersion, fingerprint: classify.codeFingerprint };
    // A new build of classify: a new code version and fingerprint (so new asset versions).
    classify.codeVersion = '2.0.0';
    classify.codeFingerprint = 'classify@2.0.0';
    try {
      const id = `v2-${randomUUID()}`;
      const d = await run(key, cachedPipeline(id));
      expect(d.state).toBe('COMPLETED');
      expect(ranIn(id)).toEqual(['classify', 'store']);
      expect(outcomes(d)).toEqual({ ocr: 'CACHED', classify: 'SUCCEEDED', extract: 'CACHED', store: 'SUCCEEDED' });
    } finally {
      classify.codeVersion = before.version;
      classify.codeFingerprint = before.fingerprint;
    }
  }, 240_000);

  it('ocr forced to run again (cache.enabled false) produces the same text: classify and extract still hit', async () => {
    const { key } = await t.tenant('submitter');
    await run(key, cachedPipeline(`base-${randomUUID()}`));
    const id = `forced-${randomUUID()}`;
    const d = await run(key, cachedPipeline(id, { ocr: { cache: { enabled: false } } }));
    expect(d.state).toBe('COMPLETED');
    expect(ranIn(id)).toEqual(['ocr']);
    expect(outcomes(d)).toEqual({ ocr: 'SUCCEEDED', classify: 'CACHED', extract: 'CACHED', store: 'CACHED' });
  }, 240_000);
});
