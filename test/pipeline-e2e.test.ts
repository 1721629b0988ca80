import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClaimsPdf, SAMPLE_DOCUMENT } from '../examples/document-pipeline/generate-document';
import { computeAssetVersion, createStorage, loadExecutorConfig, type Storage } from '../src/sdk/index';
import { jobOf, submitDag, waitForDag } from './support/dag-helpers';
import { documentPipelineDag, expectClaimsLineage } from './support/document-pipeline';
import { ok, startTestApp, type TestApp } from './support/test-app';

const CONFIG = path.resolve(__dirname, '../examples/document-pipeline/executors.yml');

let t: TestApp;
let tmp: string;
let storage: Storage;
let pdf: Uint8Array;
let pdfUri: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-e2e-'));
  storage = createStorage(`file://${tmp}/storage`);
  const executors = await loadExecutorConfig(CONFIG, { storage });
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors });
  pdf = await generateClaimsPdf();
  await mkdir(path.join(tmp, 'inbox'));
  await writeFile(path.join(tmp, 'inbox', 'claim-1.pdf'), pdf);
  pdfUri = pathToFileURL(path.join(tmp, 'inbox', 'claim-1.pdf')).href;
}, 120_000);
afterAll(async () => {
  await t?.stop();
  await storage?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the example document pipeline, end to end', () => {
  it('runs ocr → classify ∥ extract → store on a generated two-page PDF: assets complete, lineage to the source, claims right', async () => {
    const { key } = await t.tenant('submitter');
    const dagId = `claims-${randomUUID()}`;
    await submitDag(t, key, documentPipelineDag(dagId, pdfUri));
    const d = await waitForDag(t, key, dagId, ['COMPLETED', 'FAILED'], 90_000);
    expect(d.jobs.map((j) => [j.taskId, j.state, j.error]).sort()).toEqual([
      ['classify', 'COMPLETED', null],
      ['extract', 'COMPLETED', null],
      ['ocr', 'COMPLETED', null],
      ['store', 'COMPLETED', null],
    ]);
    expect(d.state).toBe('COMPLETED');

    const ocr = jobOf(d, 'ocr').output as { documents: Array<{ docId: string; pages: number }>; text: string };
    expect(ocr.documents).toEqual([{ docId: 'claim-1', source: 'pdf-text-layer', pages: 2 }]);

    // Every node's expected assets were recorded.
    const status = ok(
      await t.gql<{
        dagAssetStatus: Array<{
          nodeTaskId: string;
          isComplete: boolean;
          completionPercentage: number;
          missingRequiredAssets: string[];
          materializedAssets: string[];
        }>;
      }>(
        `query ($id: ID!) { dagAssetStatus(dagId: $id) { nodeTaskId isComplete completionPercentage missingRequiredAssets materializedAssets } }`,
        { id: dagId },
        key,
      ),
    ).dagAssetStatus;
    expect(status.map((s) => s.nodeTaskId).sort()).toEqual(['classify', 'extract', 'ocr', 'store']);
    for (const s of status) {
      expect(s, s.nodeTaskId).toMatchObject({ isComplete: true, missingRequiredAssets: [] });
    }
    expect(status.find((s) => s.nodeTaskId === 'extract')?.materializedAssets.sort()).toEqual([
      'extract/claims',
      'extract/headers',
      'extract/metadata',
      'extract/service_lines',
    ]);

    // Lineage of the claims reaches the OCR text and, through it, the source document.
    await expectClaimsLineage(t, key);
    // The OCR text's input is this very document (its content-addressed version).
    const textLineage = ok(
      await t.gql<{ lineage: { upstream: Array<{ assetKey: string; version: string }> } }>(
        `{ lineage(assetKey: "ocr/text", depth: 1) { upstream { assetKey version } } }`,
        {},
        key,
      ),
    ).lineage;
    expect(textLineage.upstream).toEqual([
      { assetKey: 'source/document', version: computeAssetVersion({ payload: Buffer.from(pdf) }) },
    ]);

    // The extracted claims match the document: in the job output and in the stored asset.
    const extract = jobOf(d, 'extract').output as {
      claims: unknown[];
      assets: Array<{ assetKey: string; uri: string }>;
    };
    expect(extract.claims).toEqual(SAMPLE_DOCUMENT.claims);
    // extract read the page count that ocr kept in its task state (RunContext, fromTask).
    expect((jobOf(d, 'extract').output as { pageCount: number }).pageCount).toBe(2);
    const claimsAsset = extract.assets.find((a) => a.assetKey === 'extract/claims');
    expect(claimsAsset?.uri).toMatch(/^file:\/\//);
    expect(JSON.parse((await storage.get(claimsAsset!.uri)).toString('utf8'))).toEqual(SAMPLE_DOCUMENT.claims);
    const latest = ok(
      await t.gql<{ asset: { latest: { uri: string; metadata: Record<string, unknown> } } }>(
        `{ asset(key: "extract/claims") { latest { uri metadata } } }`,
        {},
        key,
      ),
    ).asset.latest;
    expect(latest.uri).toBe(claimsAsset!.uri);
    expect(latest.metadata).toMatchObject({ claimCount: 3, totalAmount: 1460.25 });

    const store = jobOf(d, 'store').output as { record: { documentType: string; claims: unknown[] } };
    expect(store.record).toMatchObject({ documentType: 'claim_form', claims: SAMPLE_DOCUMENT.claims });
  }, 120_000);
});
