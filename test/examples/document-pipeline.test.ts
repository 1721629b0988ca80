import 'reflect-metadata';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractFields } from '../../examples/document-pipeline/executors/extract.executor';
import { generateClaimsPdf, SAMPLE_DOCUMENT } from '../../examples/document-pipeline/generate-document';
import {
  computeAssetVersion,
  createStorage,
  createTestCallContext,
  loadExecutorConfig,
  MemoryAssetTracker,
  NonRetryableError,
  type ExecutorHost,
  type Storage,
} from '../../src/sdk/index';

const config = path.resolve(__dirname, '../../examples/document-pipeline/executors.yml');

let tmp: string;
let storage: Storage;
let hosts: Map<string, ExecutorHost>;
let pdf: Uint8Array;
let pdfUri: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-pipeline-'));
  storage = createStorage(`file://${tmp}/storage`);
  hosts = new Map((await loadExecutorConfig(config, { storage })).map((h) => [h.name, h]));
  pdf = await generateClaimsPdf();
  await mkdir(path.join(tmp, 'docs'));
  await writeFile(path.join(tmp, 'docs', 'claim.pdf'), pdf);
  pdfUri = pathToFileURL(path.join(tmp, 'docs', 'claim.pdf')).href;
});
afterAll(async () => {
  await Promise.all([...hosts.values()].map((h) => h.close()));
  await rm(tmp, { recursive: true, force: true });
});

/** Runs the pipeline's four nodes in order, each seeing what its upstream nodes recorded. */
async function runPipeline() {
  const dagId = `dag-${Math.random().toString(36).slice(2)}`;
  const ocrCtx = createTestCallContext({ dagId, taskId: 'ocr', endpoint: '/ocr' });
  const ocr = (await hosts
    .get('ocr')!
    .invoke({ docs: [{ id: 'claim-1', uri: pdfUri, mimeType: 'application/pdf' }] }, ocrCtx)) as {
    text: string;
  };
  const classifyCtx = createTestCallContext({
    dagId,
    taskId: 'classify',
    endpoint: 'classify',
    upstream: ocrCtx.assets.asUpstream(),
  });
  const classify = (await hosts.get('classify')!.invoke({}, classifyCtx)) as {
    documentType: string;
    confidence: number;
  };
  const extractCtx = createTestCallContext({
    dagId,
    taskId: 'extract',
    endpoint: '/extract',
    upstream: ocrCtx.assets.asUpstream(),
  });
  const extract = (await hosts.get('extract')!.invoke({}, extractCtx)) as ReturnType<typeof extractFields>;
  const storeCtx = createTestCallContext({
    dagId,
    taskId: 'store',
    endpoint: '/store',
    upstream: [...classifyCtx.assets.asUpstream(), ...extractCtx.assets.asUpstream()],
  });
  const store = (await hosts.get('store')!.invoke({ docs: [{ id: 'claim-1' }] }, storeCtx)) as {
    record: Record<string, unknown>;
  };
  return { ocr, ocrCtx, classify, classifyCtx, extract, extractCtx, store, storeCtx };
}

describe('examples/document-pipeline', () => {
  it('loads the four executors from executors.yml', () => {
    expect([...hosts.keys()]).toEqual(['ocr', 'classify', 'extract', 'store']);
    expect(hosts.get('ocr')!.concurrency).toBe(2);
  });

  it('ocr reads the PDF text layer with word boxes and records text, bboxes and confidence from the source document', async () => {
    const { ocr, ocrCtx } = await runPipeline();
    expect(ocr.text).toContain('Claim 12345 Patient Jane Doe Amount $120.00');
    expect(ocr.text).toContain('Service 99213 2025-01-10 Office visit $80.00');
    expect(ocr.text.split('\f')).toHaveLength(2); // two pages
    expect(ocrCtx.assets.calls).toHaveLength(1);
    const [call] = ocrCtx.assets.calls;
    expect(call.assets.map((a) => [a.assetKey, a.kind])).toEqual([
      ['ocr/text', 'text'],
      ['ocr/bboxes', 'bbox'],
      ['ocr/confidence', 'metadata'],
    ]);
    expect(call.upstream).toEqual([
      { assetKey: 'source/document', version: computeAssetVersion({ payload: pdf }), partitionKey: null },
    ]);
    const bboxes = JSON.parse((await storage.get(call.assets[1].uri!)).toString()) as Array<{
      pages: Array<{ words: Array<{ text: string; bbox: number[] }> }>;
    }>;
    const jane = bboxes[0].pages[0].words.find((w) => w.text === 'Jane')!;
    expect(jane.bbox).toHaveLength(4);
    expect(jane.bbox.every((n) => n > 0)).toBe(true);
    const text = call.assets[0];
    expect(text.version).toBe(
      computeAssetVersion({
        payload: ocr.text,
        codeFingerprint: 'marie-examples:ocr@1',
        promptFingerprint: 'pdfjs-5.6.205+tesseract-eng-4.0.0_best_int',
        upstreamVersions: [computeAssetVersion({ payload: pdf })],
      }),
    );
    expect(ocrCtx.progressReports.at(-1)).toEqual({ percent: 100, message: 'ocr done' });
  });

  it('classify, extract and store record their assets with lineage, and the claims match the document', async () => {
    const { classify, classifyCtx, extract, extractCtx, store, storeCtx, ocrCtx } = await runPipeline();
    const ocrText = ocrCtx.assets.recorded[0];
    const ocrRef = [{ assetKey: 'ocr/text', version: ocrText.version, partitionKey: null }];

    expect(classify).toMatchObject({ documentType: 'claim_form', confidence: 1 });
    expect(classifyCtx.assets.calls).toHaveLength(1);
    expect(classifyCtx.assets.calls[0].upstream).toEqual(ocrRef);
    expect(classifyCtx.assets.recorded.map((a) => a.assetKey)).toEqual([
      'classify/document_type',
      'classify/confidence_scores',
      'classify/alternatives',
    ]);

    expect(extract.claims).toEqual(SAMPLE_DOCUMENT.claims);
    expect(extract.serviceLines).toEqual(SAMPLE_DOCUMENT.serviceLines);
    expect(extract.headers).toMatchObject(SAMPLE_DOCUMENT.headers);
    expect(extractCtx.assets.calls).toHaveLength(1);
    expect(extractCtx.assets.calls[0].upstream).toEqual(ocrRef);
    const recorded = extractCtx.assets.recorded;
    expect(recorded.map((a) => a.assetKey)).toEqual([
      'extract/claims',
      'extract/headers',
      'extract/service_lines',
      'extract/metadata',
    ]);
    expect(recorded[0].metadata).toEqual({ claimCount: 3, totalAmount: 1460.25 });
    expect(JSON.parse((await storage.get(recorded[0].uri!)).toString())).toEqual(SAMPLE_DOCUMENT.claims);

    expect(store.record).toMatchObject({
      documentId: 'claim-1',
      documentType: 'claim_form',
      claims: SAMPLE_DOCUMENT.claims,
    });
    expect(storeCtx.assets.recorded.map((a) => a.assetKey)).toEqual(['store/record']);
    expect(storeCtx.assets.calls[0].upstream.map((u) => u.assetKey)).toEqual([
      'classify/document_type',
      'extract/claims',
      'extract/headers',
      'extract/service_lines',
    ]);
  });

  it('gives the same versions when the same document runs again', async () => {
    const a = await runPipeline();
    const b = await runPipeline();
    expect(b.storeCtx.assets.recorded[0].version).toBe(a.storeCtx.assets.recorded[0].version);
    expect(b.extractCtx.assets.recorded.map((x) => x.version)).toEqual(
      a.extractCtx.assets.recorded.map((x) => x.version),
    );
  });

  it('fails extract as non-retryable when no ocr/text is upstream', async () => {
    const err = await hosts
      .get('extract')!
      .invoke({}, createTestCallContext({ taskId: 'extract', endpoint: '/extract', assets: new MemoryAssetTracker() }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toBe('upstream asset "ocr/text" with a uri is missing for task "extract"');
  });

  it('ocr reads an image with tesseract.js and the bundled English model (no download)', async () => {
    // Render page 1 of the PDF to a PNG, then OCR the pixels.
    const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
    const { createCanvas } = await import('@napi-rs/canvas');
    const doc = await pdfjs.getDocument({ data: new Uint8Array(pdf), verbosity: 0 }).promise;
    const page = await doc.getPage(1);
    const viewport = page.getViewport({ scale: 2 });
    const canvas = createCanvas(viewport.width, viewport.height);
    const g = canvas.getContext('2d');
    g.fillStyle = 'white';
    g.fillRect(0, 0, viewport.width, viewport.height);
    await page.render({ canvas: canvas as never, canvasContext: g as never, viewport }).promise;
    await doc.destroy();
    const png = canvas.toBuffer('image/png');
    await writeFile(path.join(tmp, 'docs', 'page1.png'), png);

    const ctx = createTestCallContext({ taskId: 'ocr', endpoint: '/ocr' });
    const docUri = pathToFileURL(path.join(tmp, 'docs', 'page1.png')).href;
    const out = (await hosts
      .get('ocr')!
      .invoke({ docs: [{ id: 'scan', uri: docUri, mimeType: 'image/png' }] }, ctx)) as {
      text: string;
      documents: Array<{ source: string }>;
    };
    expect(out.documents[0].source).toBe('tesseract');
    const found = extractFields(out.text);
    expect(found.claims.map((c) => [c.claimId, c.amount])).toEqual([
      ['12345', 120],
      ['12346', 89.5],
    ]);
    const confidence = JSON.parse((await storage.get(ctx.assets.recorded[2].uri!)).toString()) as {
      average: number;
    };
    expect(confidence.average).toBeGreaterThan(0.5);
    expect(confidence.average).toBeLessThanOrEqual(1);
  });
});
