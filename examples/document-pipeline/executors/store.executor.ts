import { Executor, requests, type CallContext, type ExecutorInput } from '../../../src/sdk/index';
import { readJson, refOf, requireUpstream } from './common';
import type { Claim } from './extract.executor';

/**
 * `store`: the final record of a document (its type, headers and claims), written as
 * store/record with lineage from classify/document_type and the extract assets.
 */
export class StoreExecutor extends Executor {
  override codeFingerprint = 'marie-examples:store@1';

  @requests({ on: '/store' })
  async store(input: ExecutorInput, ctx: CallContext) {
    const [docType, claims, headers, lines] = await Promise.all([
      requireUpstream(ctx, 'classify/document_type'),
      requireUpstream(ctx, 'extract/claims'),
      requireUpstream(ctx, 'extract/headers'),
      requireUpstream(ctx, 'extract/service_lines'),
    ]);
    const classification = await readJson<{ documentType: string; confidence: number }>(ctx, docType);
    const record = {
      documentId: input.docs[0]?.id ?? ctx.dagId,
      documentType: classification.documentType,
      confidence: classification.confidence,
      headers: await readJson<Record<string, string>>(ctx, headers),
      claims: await readJson<Claim[]>(ctx, claims),
      serviceLines: await readJson<unknown[]>(ctx, lines),
    };
    const { assets } = await ctx.persist([
      {
        assetKey: 'store/record',
        data: record,
        kind: 'json',
        upstream: [docType, claims, headers, lines].map(refOf),
        metadata: { documentType: record.documentType, claimCount: record.claims.length },
      },
    ]);
    return { record, asset: assets[0] };
  }
}
