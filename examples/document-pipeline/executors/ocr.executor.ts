import { createRequire } from 'node:module';
import path from 'node:path';
import { z } from 'zod';
import {
  computeAssetVersion,
  Executor,
  NonRetryableError,
  requests,
  type CallContext,
  type ExecutorInput,
  type JsonDocument,
  type UpstreamRef,
} from '../../../src/sdk/index';
import { OCR_SUMMARY_KEY, readDocument } from './common';

export interface OcrWord {
  text: string;
  /** [x, y, width, height] in page units (PDF points, image pixels), origin top-left. */
  bbox: [number, number, number, number];
  /** 0 to 1. */
  confidence: number;
}

export interface OcrPage {
  page: number;
  width: number;
  height: number;
  text: string;
  words: OcrWord[];
}

export interface OcrResult {
  docId: string;
  source: 'pdf-text-layer' | 'tesseract';
  pages: OcrPage[];
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Text, word boxes and confidences of a PDF's text layer (pdfjs-dist 5, loaded as ESM). */
export async function ocrPdf(bytes: Uint8Array): Promise<OcrPage[]> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({
    data: new Uint8Array(bytes),
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: 0,
  }).promise;
  try {
    const pages: OcrPage[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const { width, height } = page.getViewport({ scale: 1 });
      const content = await page.getTextContent();
      let text = '';
      const words: OcrWord[] = [];
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str + (item.hasEOL ? '\n' : '');
        const [, , , , x0, yBase] = item.transform as number[];
        const top = height - (yBase ?? 0) - item.height;
        // The text layer gives a run's width, not each glyph's: spread it by characters.
        const perChar = item.str.length ? item.width / item.str.length : 0;
        for (const m of item.str.matchAll(/\S+/g)) {
          words.push({
            text: m[0],
            bbox: [round((x0 ?? 0) + m.index * perChar), round(top), round(m[0].length * perChar), round(item.height)],
            confidence: 1,
          });
        }
      }
      pages.push({ page: n, width, height, text: text.trimEnd(), words });
      page.cleanup();
    }
    return pages;
  } finally {
    await doc.destroy();
  }
}

const localRequire = createRequire(__filename);

/** Words of an image with tesseract.js; the English model comes from @tesseract.js-data/eng (no download). */
export async function ocrImage(bytes: Buffer): Promise<OcrPage[]> {
  const { createWorker, OEM } = await import('tesseract.js');
  const langPath = path.join(path.dirname(localRequire.resolve('@tesseract.js-data/eng')), '4.0.0_best_int');
  const worker = await createWorker('eng', OEM.LSTM_ONLY, { langPath, gzip: true, cacheMethod: 'none' });
  try {
    const { data } = await worker.recognize(bytes, {}, { text: true, blocks: true });
    const words: OcrWord[] = (data.blocks ?? [])
      .flatMap((b) => b.paragraphs)
      .flatMap((p) => p.lines)
      .flatMap((l) => l.words)
      .map((w) => ({
        text: w.text,
        bbox: [w.bbox.x0, w.bbox.y0, w.bbox.x1 - w.bbox.x0, w.bbox.y1 - w.bbox.y0],
        confidence: round(w.confidence / 100),
      }));
    const width = Math.max(0, ...words.map((w) => w.bbox[0] + w.bbox[2]));
    const height = Math.max(0, ...words.map((w) => w.bbox[1] + w.bbox[3]));
    return [{ page: 1, width, height, text: data.text.trimEnd(), words }];
  } finally {
    await worker.terminate();
  }
}

const isPdf = (doc: JsonDocument, bytes: Buffer) =>
  doc.mimeType === 'application/pdf' || bytes.subarray(0, 5).toString('latin1') === '%PDF-';

const Params = z.object({
  /** Asset key of the source document this OCR reads (its lineage root when no upstream node recorded one). */
  sourceAssetKey: z.string().default('source/document'),
});

/**
 * `ocr`: text, word boxes and confidences from PDFs (text layer) and images (tesseract.js).
 * Records ocr/text, ocr/bboxes and ocr/confidence, lineage from the source document.
 */
export class OcrExecutor extends Executor {
  override codeFingerprint = 'marie-examples:ocr@1';
  override promptFingerprint = 'pdfjs-5.6.205+tesseract-eng-4.0.0_best_int';

  @requests({ on: ['/ocr', '/extract_text'], params: Params })
  async ocr(input: ExecutorInput<z.infer<typeof Params>>, ctx: CallContext) {
    if (input.docs.length === 0) throw new NonRetryableError('ocr: data.docs is empty');
    const results: OcrResult[] = [];
    const sources: UpstreamRef[] = [];
    for (const [i, doc] of input.docs.entries()) {
      ctx.signal.throwIfAborted();
      const bytes = await readDocument(doc, ctx);
      const docId = doc.id ?? `doc-${i}`;
      const pdf = isPdf(doc, bytes);
      results.push({
        docId,
        source: pdf ? 'pdf-text-layer' : 'tesseract',
        pages: pdf ? await ocrPdf(bytes) : await ocrImage(bytes),
      });
      sources.push({
        assetKey: input.parameters.sourceAssetKey,
        version: computeAssetVersion({ payload: bytes }),
        partitionKey: ctx.partitionKey,
      });
      await ctx.progress(Math.round(((i + 1) / input.docs.length) * 90), `ocr ${docId}`);
    }
    // Lineage: what the upstream nodes recorded, else the source documents themselves.
    const recorded = await ctx.assets.upstream();
    const upstream = recorded.length
      ? recorded.map((u) => ({ assetKey: u.assetKey, version: u.version, partitionKey: u.partitionKey }))
      : sources;

    const text = results.map((r) => r.pages.map((p) => p.text).join('\n\f\n')).join('\n\f\n');
    const words = results.flatMap((r) => r.pages.flatMap((p) => p.words));
    const bboxes = results.map((r) => ({
      docId: r.docId,
      pages: r.pages.map((p) => ({
        page: p.page,
        width: p.width,
        height: p.height,
        words: p.words.map(({ text: t, bbox }) => ({ text: t, bbox })),
      })),
    }));
    const confidences = words.map((w) => w.confidence);
    const confidence = {
      average: confidences.length ? round(confidences.reduce((a, b) => a + b, 0) / confidences.length) : 0,
      min: confidences.length ? Math.min(...confidences) : 0,
      words: results.map((r) => ({ docId: r.docId, pages: r.pages.map((p) => p.words.map((w) => w.confidence)) })),
    };
    const { assets, record } = await ctx.persist([
      {
        assetKey: 'ocr/text',
        data: text,
        kind: 'text',
        upstream,
        metadata: {
          language: 'en',
          charCount: text.length,
          wordCount: words.length,
          pageCount: results.reduce((n, r) => n + r.pages.length, 0),
        },
      },
      { assetKey: 'ocr/bboxes', data: bboxes, kind: 'bbox', upstream, metadata: { bboxCount: words.length } },
      {
        assetKey: 'ocr/confidence',
        data: confidence,
        kind: 'metadata',
        upstream,
        promptFingerprint: null,
        metadata: { avgConfidence: confidence.average },
      },
    ]);
    // Task state for the tasks after it (the seed's RunContext): extract reads the page count.
    const pageCount = results.reduce((n, r) => n + r.pages.length, 0);
    await ctx.runContext?.set(OCR_SUMMARY_KEY, {
      documents: results.map((r) => r.docId),
      pageCount,
      wordCount: words.length,
    });
    await ctx.progress(100, 'ocr done');
    // The output names versions, not this run's storage URIs (the materializations hold those):
    // a rerun on the same document gives the same output, so its dependents hit the cache.
    return {
      documents: results.map((r) => ({ docId: r.docId, source: r.source, pages: r.pages.length })),
      text,
      assets: assets.map(({ assetKey, version }) => ({ assetKey, version })),
      recorded: record.ok,
    };
  }
}
