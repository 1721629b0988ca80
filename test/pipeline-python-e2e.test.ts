import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClaimsPdf, SAMPLE_DOCUMENT } from '../examples/document-pipeline/generate-document';
import { loadWorkerInvokers } from '../src/app/worker-executors';
import { environment } from '../src/config/config';
import type { ExecutorInvoker } from '../src/core/executor-call';
import {
  computeAssetVersion,
  createStorage,
  createTestCallContext,
  loadExecutorConfig,
  type Storage,
} from '../src/sdk/index';
import { RemoteExecutor } from '../src/worker/remote';
import { jobOf, submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { documentPipelineDag, expectClaimsLineage } from './support/document-pipeline';
import { freePort } from './support/python-remote';
import { killGroup, launch, ROOT, type Spawned } from './support/spawned';
import { ok, startTestApp, type TestApp } from './support/test-app';

// The example pipeline in two languages, through submitDag: TypeScript ocr and store in the
// worker, Python classify and extract (examples/document-pipeline/python/serve.py, a real
// process) reached as RemoteExecutors, all from executors.python.yml.
const EXAMPLE = path.join(ROOT, 'examples/document-pipeline');
const SDK_PYTHON = path.join(ROOT, 'sdk/python');

let tmp: string;
let storage: Storage;
let py: Spawned;
let executors: ExecutorInvoker[];
let t: TestApp;
let pdf: Uint8Array;
let pdfUri: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-py-e2e-'));
  storage = createStorage(`file://${tmp}/storage`);
  const port = await freePort();
  py = launch(
    'python3',
    [path.join(EXAMPLE, 'python/serve.py'), '--port', String(port), '--storage', `file://${tmp}/storage`],
    { ...environment(), PYTHONPATH: SDK_PYTHON, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
  );
  await waitFor(
    async () => {
      if (py.child.exitCode !== null) throw new Error(`serve.py exited ${py.child.exitCode}: ${py.output()}`);
      return py.output().includes('serving classify, extract on');
    },
    60_000,
    () => `serve.py on port ${port}:\n${py.output()}`,
  );
  // The example YAML as it is, but for the port and with its module paths made absolute.
  const yaml = (await readFile(path.join(EXAMPLE, 'executors.python.yml'), 'utf8'))
    .replaceAll('http://127.0.0.1:8601', `http://127.0.0.1:${port}`)
    .replaceAll('./executors/', `${EXAMPLE}/executors/`);
  expect(yaml).toContain(`url: http://127.0.0.1:${port}`);
  await writeFile(path.join(tmp, 'executors.python.yml'), yaml);
  executors = await loadWorkerInvokers(path.join(tmp, 'executors.python.yml'), { storage });
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors });
  pdf = await generateClaimsPdf();
  await mkdir(path.join(tmp, 'inbox'));
  await writeFile(path.join(tmp, 'inbox', 'claim-1.pdf'), pdf);
  pdfUri = pathToFileURL(path.join(tmp, 'inbox', 'claim-1.pdf')).href;
}, 120_000);

afterAll(async () => {
  await t?.stop();
  if (py && py.child.exitCode === null) {
    process.kill(py.pgid, 'SIGTERM');
    await Promise.race([py.exited, new Promise((r) => setTimeout(r, 10_000))]);
  }
  killGroup(py);
  await storage?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Mat {
  assetKey: string;
  version: string;
  uri: string;
  codeFingerprint: string | null;
  promptFingerprint: string | null;
  upstream: Array<{ assetKey: string; version: string }>;
}
interface JobView {
  taskId: string;
  materializations: Mat[];
  taskState: Array<{ key: string; value: unknown }>;
}

/** Python's compute_asset_version over each materialization's stored bytes. */
function pythonVersions(mats: Mat[]): string[] {
  const script = `import json, sys
from marie_cp import compute_asset_version
items = json.load(sys.stdin)
print(json.dumps([compute_asset_version(open(i["path"], "rb").read(), i["code"], i["prompt"], i["up"]) for i in items]))`;
  const input = mats.map((m) => ({
    path: fileURLToPath(m.uri),
    code: m.codeFingerprint,
    prompt: m.promptFingerprint,
    up: m.upstream.map((u) => u.version),
  }));
  const res = spawnSync('python3', ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    env: { ...environment(), PYTHONPATH: SDK_PYTHON, PYTHONDONTWRITEBYTECODE: '1' },
    timeout: 60_000,
  });
  expect(res.stderr).toBe('');
  return JSON.parse(res.stdout) as string[];
}

describe('the example pipeline in two languages (Python classify and extract as remotes)', () => {
  it('executors.python.yml, as shipped: TypeScript ocr and store, classify and extract as remotes on port 8601', async () => {
    const hosts = await loadWorkerInvokers(path.join(EXAMPLE, 'executors.python.yml'), { storage });
    try {
      expect(hosts.map((h) => [h.name, h instanceof RemoteExecutor ? h.url : 'local', h.concurrency])).toEqual([
        ['ocr', 'local', 2],
        ['classify', 'http://127.0.0.1:8601', 2],
        ['extract', 'http://127.0.0.1:8601', 4],
        ['store', 'local', 1],
      ]);
    } finally {
      for (const h of hosts) await h.close?.();
    }
  });

  it('completes through submitDag; Python versions, lineage across languages, and the ocr task state read from Python', async () => {
    // classify and extract are remotes here, not the TypeScript executors.
    const byName = new Map(executors.map((e) => [e.name, e]));
    expect(byName.get('classify')).toBeInstanceOf(RemoteExecutor);
    expect(byName.get('extract')).toBeInstanceOf(RemoteExecutor);
    expect(byName.get('ocr')).not.toBeInstanceOf(RemoteExecutor);

    const { key } = await t.tenant('submitter');
    const dagId = `claims-py-${randomUUID()}`;
    await submitDag(t, key, documentPipelineDag(dagId, pdfUri));
    const d = await waitForDag(t, key, dagId, ['COMPLETED', 'FAILED'], 90_000);
    expect(d.jobs.map((j) => [j.taskId, j.state, j.error]).sort(), py.output()).toEqual([
      ['classify', 'COMPLETED', null],
      ['extract', 'COMPLETED', null],
      ['ocr', 'COMPLETED', null],
      ['store', 'COMPLETED', null],
    ]);
    expect(d.state).toBe('COMPLETED');

    const jobs = ok(
      await t.gql<{ dag: { jobs: JobView[] } }>(
        `query ($id: ID!) { dag(id: $id) { jobs { taskId taskState { key value }
          materializations { assetKey version uri codeFingerprint promptFingerprint upstream { assetKey version } } } } }`,
        { id: dagId },
        key,
      ),
    ).dag.jobs;
    const job = (id: string) => jobs.find((j) => j.taskId === id)!;
    const ocrText = job('ocr').materializations.find((m) => m.assetKey === 'ocr/text')!;

    // Python's materializations: their versions are compute_asset_version's over the bytes
    // Python wrote (and TypeScript's computeAssetVersion gives the same).
    const pyMats = [...job('classify').materializations, ...job('extract').materializations];
    expect(pyMats.map((m) => m.assetKey).sort()).toEqual([
      'classify/alternatives',
      'classify/confidence_scores',
      'classify/document_type',
      'extract/claims',
      'extract/headers',
      'extract/metadata',
      'extract/service_lines',
    ]);
    for (const m of pyMats) expect(m.upstream).toEqual([{ assetKey: 'ocr/text', version: ocrText.version }]);
    expect(pythonVersions(pyMats)).toEqual(pyMats.map((m) => m.version));
    for (const m of pyMats) {
      const payload = await readFile(fileURLToPath(m.uri));
      expect(
        computeAssetVersion({
          payload,
          codeFingerprint: m.codeFingerprint,
          promptFingerprint: m.promptFingerprint,
          upstreamVersions: [ocrText.version],
        }),
        m.assetKey,
      ).toBe(m.version);
    }
    const claims = pyMats.find((m) => m.assetKey === 'extract/claims')!;
    expect(claims).toMatchObject({ codeFingerprint: 'marie-examples:extract@1', promptFingerprint: 'claims-regex-v1' });
    expect(JSON.parse(await readFile(fileURLToPath(claims.uri), 'utf8'))).toEqual(SAMPLE_DOCUMENT.claims);

    // Python's extract read what ocr stored in its task state (ctx.state.get(..., from_task='ocr')).
    const summary = job('ocr').taskState.find((s) => s.key === 'ocr_summary')?.value as { pageCount: number };
    expect(summary).toMatchObject({ documents: ['claim-1'], pageCount: 2 });
    const extract = jobOf(d, 'extract').output as { pageCount: number; claims: unknown[]; totalAmount: number };
    expect(extract).toMatchObject({
      pageCount: summary.pageCount,
      claims: SAMPLE_DOCUMENT.claims,
      totalAmount: 1460.25,
    });
    const meta = pyMats.find((m) => m.assetKey === 'extract/metadata')!;
    expect(JSON.parse(await readFile(fileURLToPath(meta.uri), 'utf8'))).toMatchObject({
      sourceVersion: ocrText.version,
      pageCount: 2,
    });

    // Lineage crosses the languages: extract/claims (Python) ← ocr/text (TS) ← source/document.
    await expectClaimsLineage(t, key);

    // TypeScript store read what Python wrote.
    const store = jobOf(d, 'store').output as { record: { documentType: string; claims: unknown[] } };
    expect(store.record).toMatchObject({ documentType: 'claim_form', claims: SAMPLE_DOCUMENT.claims });

    // A faithful port: the TypeScript classify and extract, given the same ocr/text and ocr
    // state, write the same bytes, hence the same versions.
    const ts = new Map(
      (await loadExecutorConfig(path.join(EXAMPLE, 'executors.yml'), { storage })).map((h) => [h.name, h]),
    );
    try {
      const upstream = [{ ...ocrText, partitionKey: null, nodeTaskId: 'ocr' }];
      for (const name of ['classify', 'extract']) {
        const ctx = createTestCallContext({
          dagId: `parity-${dagId}`,
          taskId: name,
          endpoint: `/${name}`,
          upstream,
          runContext: {
            get: async <T>(k: string, o?: { fromTask?: string }) =>
              (k === 'ocr_summary' && o?.fromTask === 'ocr' ? summary : undefined) as T | undefined,
            pull: async () => undefined,
            set: async () => undefined,
            push: async () => undefined,
          },
        });
        await ts.get(name)!.invoke({}, ctx);
        const tsVersions = Object.fromEntries(ctx.assets.recorded.map((a) => [a.assetKey, a.version]));
        const pyVersions = Object.fromEntries(job(name).materializations.map((m) => [m.assetKey, m.version]));
        expect(pyVersions, name).toEqual(tsVersions);
      }
    } finally {
      await Promise.all([...ts.values()].map((h) => h.close()));
    }
  }, 180_000);
});
