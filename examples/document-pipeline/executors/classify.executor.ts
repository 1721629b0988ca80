import { z } from 'zod';
import { Executor, requests, type CallContext, type ExecutorInput } from '../../../src/sdk/index';
import { refOf, requireUpstream } from './common';

/** Keyword evidence for each document type; the score is the share of its keywords present. */
const TYPES: Record<string, string[]> = {
  claim_form: ['claim', 'patient', 'amount', 'provider', 'payer', 'service'],
  invoice: ['invoice', 'bill to', 'total due', 'due date', 'amount'],
  medical_record: ['diagnosis', 'patient', 'history', 'medication'],
  correspondence: ['dear', 'sincerely', 'regards'],
};

export interface Classification {
  documentType: string;
  confidence: number;
  alternatives: Array<{ documentType: string; confidence: number }>;
}

export function classifyText(text: string): Classification {
  const lower = text.toLowerCase();
  const scored = Object.entries(TYPES)
    .map(([documentType, words]) => ({
      documentType,
      confidence: Math.round((words.filter((w) => lower.includes(w)).length / words.length) * 100) / 100,
    }))
    .sort((a, b) => b.confidence - a.confidence || a.documentType.localeCompare(b.documentType));
  const best = scored[0];
  if (best.confidence === 0) return { documentType: 'unknown', confidence: 0, alternatives: [] };
  return { ...best, alternatives: scored.slice(1).filter((s) => s.confidence > 0) };
}

const WithSchema = z.object({
  /** Record classify/confidence_scores only at or above this confidence. */
  confidenceThreshold: z.number().min(0).max(1).default(0.8),
});

/**
 * `classify`: document type with a confidence and alternatives, from the upstream ocr/text.
 * Records classify/document_type (required), classify/confidence_scores when confident,
 * classify/alternatives when there are any.
 */
export class ClassifyExecutor extends Executor<z.infer<typeof WithSchema>> {
  static override withSchema = WithSchema;
  override codeFingerprint = 'marie-examples:classify@1';
  override promptFingerprint = 'keyword-rules-v1';

  @requests({ on: '/classify' })
  async classify(_input: ExecutorInput, ctx: CallContext) {
    const textAsset = await requireUpstream(ctx, 'ocr/text');
    const text = (await ctx.storage.get(textAsset.uri)).toString('utf8');
    const result = classifyText(text);
    const upstream = [refOf(textAsset)];
    const outputs: Parameters<CallContext['persist']>[0] = [
      {
        assetKey: 'classify/document_type',
        data: { documentType: result.documentType, confidence: result.confidence },
        kind: 'classification',
        upstream,
        metadata: { documentType: result.documentType, confidence: result.confidence },
      },
    ];
    if (result.confidence >= this.with.confidenceThreshold) {
      outputs.push({
        assetKey: 'classify/confidence_scores',
        data: { confidence: result.confidence },
        kind: 'metadata',
        upstream,
        promptFingerprint: null,
      });
    }
    if (result.alternatives.length > 0) {
      outputs.push({
        assetKey: 'classify/alternatives',
        data: result.alternatives,
        kind: 'json',
        upstream,
        promptFingerprint: null,
        metadata: { alternativeCount: result.alternatives.length },
      });
    }
    const { assets } = await ctx.persist(outputs);
    return { ...result, assets: assets.map(({ assetKey, version }) => ({ assetKey, version })) };
  }
}
