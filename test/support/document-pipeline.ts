import { expect } from 'vitest';
import { ok, type TestApp } from './test-app';

/** An expected asset of a node. */
const expect_ = (key: string, more: Record<string, unknown> = {}) => ({ key, ...more });

/**
 * The example pipeline (examples/document-pipeline) as a DAG on its own executors:
 * ocr → classify ∥ extract → store over the document at `pdfUri` (docId claim-1), every
 * node naming the assets its executor records.
 */
export function documentPipelineDag(id: string, pdfUri: string) {
  return {
    id,
    name: 'claims-pipeline',
    jobs: [
      {
        id: 'ocr',
        executor: 'ocr',
        name: '/ocr',
        data: { docs: [{ id: 'claim-1', uri: pdfUri, mimeType: 'application/pdf' }] },
        assets: [
          expect_('ocr/text', { kind: 'text', isPrimary: true }),
          expect_('ocr/bboxes', { kind: 'bbox' }),
          expect_('ocr/confidence', { kind: 'metadata' }),
        ],
      },
      {
        id: 'classify',
        executor: 'classify',
        name: '/classify',
        dependencies: ['ocr'],
        assets: [
          expect_('classify/document_type', { isPrimary: true }),
          expect_('classify/confidence_scores', { isRequired: false }),
        ],
      },
      {
        id: 'extract',
        executor: 'extract',
        name: '/extract',
        dependencies: ['ocr'],
        assets: [
          expect_('extract/claims', { isPrimary: true }),
          expect_('extract/headers'),
          expect_('extract/service_lines'),
          expect_('extract/metadata'),
        ],
      },
      {
        id: 'store',
        executor: 'store',
        name: '/store',
        dependencies: ['classify', 'extract'],
        data: { docs: [{ id: 'claim-1' }] },
        assets: [expect_('store/record', { isPrimary: true })],
      },
    ],
  };
}

/** Lineage of the claims reaches the OCR text and, through it, the source document. */
export async function expectClaimsLineage(t: TestApp, key: string): Promise<void> {
  const lineage = ok(
    await t.gql<{
      lineage: {
        nodes: Array<{ assetKey: string; distance: number }>;
        edges: Array<{ fromAssetKey: string; toAssetKey: string }>;
      };
    }>(
      `{ lineage(assetKey: "extract/claims", direction: UPSTREAM, depth: 5) { nodes { assetKey distance } edges { fromAssetKey toAssetKey } } }`,
      {},
      key,
    ),
  ).lineage;
  expect(lineage.nodes).toEqual(
    expect.arrayContaining([
      { assetKey: 'extract/claims', distance: 0 },
      { assetKey: 'ocr/text', distance: -1 },
      { assetKey: 'source/document', distance: -2 },
    ]),
  );
  expect(lineage.edges).toEqual(
    expect.arrayContaining([
      { fromAssetKey: 'ocr/text', toAssetKey: 'extract/claims' },
      { fromAssetKey: 'source/document', toAssetKey: 'ocr/text' },
    ]),
  );
}
