import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { NonRetryableError, type CallContext, type UpstreamAsset, type UpstreamRef } from '../../../src/sdk/index';

/** The task-state key under which ocr keeps `{ documents, pageCount, wordCount }` for the tasks after it. */
export const OCR_SUMMARY_KEY = 'ocr_summary';

/** Bytes of a document given by `uri` (file:// or the storage's own scheme) or inline `text`. */
export async function readDocument(doc: { uri?: string; text?: string }, ctx: CallContext): Promise<Buffer> {
  if (doc.uri) {
    if (doc.uri.startsWith('file://') && !ctx.storage.url.startsWith('file://'))
      return readFile(fileURLToPath(doc.uri));
    if (doc.uri.startsWith('file://') || doc.uri.startsWith('s3://')) {
      try {
        return await ctx.storage.get(doc.uri);
      } catch (err) {
        // A local source document outside the storage folder is still fine to read.
        if (doc.uri.startsWith('file://')) return readFile(fileURLToPath(doc.uri));
        throw err;
      }
    }
    throw new NonRetryableError(`unsupported document uri "${doc.uri}" (file:// or s3://)`);
  }
  if (typeof doc.text === 'string') return Buffer.from(doc.text, 'utf8');
  throw new NonRetryableError('a document needs a "uri" or a "text"');
}

/** The latest upstream materialization of `assetKey`, or a non-retryable failure naming it. */
export async function requireUpstream(ctx: CallContext, assetKey: string): Promise<UpstreamAsset & { uri: string }> {
  const found = (await ctx.assets.upstream()).find((u) => u.assetKey === assetKey);
  if (!found?.uri) {
    throw new NonRetryableError(`upstream asset "${assetKey}" with a uri is missing for task "${ctx.taskId}"`);
  }
  return found as UpstreamAsset & { uri: string };
}

export const refOf = (u: UpstreamAsset): UpstreamRef => ({
  assetKey: u.assetKey,
  version: u.version,
  partitionKey: u.partitionKey,
});

/** Read a materialization's content (JSON or text) back through the storage. */
export async function readJson<T>(ctx: CallContext, u: { uri: string }): Promise<T> {
  return JSON.parse((await ctx.storage.get(u.uri)).toString('utf8')) as T;
}
