import { Executor, requests, type CallContext, type ExecutorInput } from '../../../src/sdk/index';
import { OCR_SUMMARY_KEY, refOf, requireUpstream } from './common';

export interface Claim {
  claimId: string;
  patient: string;
  amount: number;
}

export interface ServiceLine {
  code: string;
  date: string;
  description: string;
  amount: number;
}

export interface Extraction {
  claims: Claim[];
  headers: Record<string, string>;
  serviceLines: ServiceLine[];
}

const amount = (s: string) => Number(s.replace(/,/g, ''));
const CLAIM = /\bClaim\s+#?(\d+)\s+Patient\s+(.+?)\s+Amount\s+\$([\d,]+\.\d{2})/gi;
const SERVICE = /^\s*Service\s+(\w+)\s+(\d{4}-\d{2}-\d{2})\s+(.+?)\s+\$([\d,]+\.\d{2})\s*$/gim;
const HEADER = /^\s*([A-Z][A-Za-z ]{1,30}):\s+(.+?)\s*$/gm;

/** Claims, headers (`Key: Value` lines) and service lines out of OCR text. */
export function extractFields(text: string): Extraction {
  const claims = [...text.matchAll(CLAIM)].map((m) => ({ claimId: m[1], patient: m[2], amount: amount(m[3]) }));
  const serviceLines = [...text.matchAll(SERVICE)].map((m) => ({
    code: m[1],
    date: m[2],
    description: m[3],
    amount: amount(m[4]),
  }));
  const headers = Object.fromEntries([...text.matchAll(HEADER)].map((m) => [m[1].trim(), m[2]]));
  return { claims, headers, serviceLines };
}

/**
 * `extract`: claims, headers and service lines. It reads the OCR text through the `uri` of
 * the ocr/text materialization that the upstream look-up gives it, and the page count the
 * ocr task kept in its task state (RunContext). Records extract/claims,
 * extract/headers, extract/service_lines and extract/metadata.
 */
export class ExtractExecutor extends Executor {
  override codeFingerprint = 'marie-examples:extract@1';
  override promptFingerprint = 'claims-regex-v1';

  @requests({ on: '/extract' })
  async extract(_input: ExecutorInput, ctx: CallContext) {
    const textAsset = await requireUpstream(ctx, 'ocr/text');
    const text = (await ctx.storage.get(textAsset.uri)).toString('utf8');
    const result = extractFields(text);
    // The seed's RunContext read: what the task that recorded ocr/text stored.
    const summary = await ctx.runContext?.get<{ pageCount?: number }>(OCR_SUMMARY_KEY, {
      fromTask: textAsset.nodeTaskId,
    });
    const pageCount = summary?.pageCount ?? null;
    const upstream = [refOf(textAsset)];
    const total = Math.round(result.claims.reduce((n, c) => n + c.amount, 0) * 100) / 100;
    const { assets } = await ctx.persist([
      {
        assetKey: 'extract/claims',
        data: result.claims,
        kind: 'json',
        upstream,
        metadata: { claimCount: result.claims.length, totalAmount: total },
      },
      { assetKey: 'extract/headers', data: result.headers, kind: 'json', upstream, promptFingerprint: null },
      {
        assetKey: 'extract/service_lines',
        data: result.serviceLines,
        kind: 'table',
        upstream,
        promptFingerprint: null,
        metadata: { lineCount: result.serviceLines.length },
      },
      {
        assetKey: 'extract/metadata',
        data: {
          sourceVersion: textAsset.version,
          characters: text.length,
          claimCount: result.claims.length,
          totalAmount: total,
          pageCount,
        },
        kind: 'metadata',
        upstream,
        promptFingerprint: null,
      },
    ]);
    return {
      ...result,
      totalAmount: total,
      pageCount,
      assets: assets.map(({ assetKey, version, uri }) => ({ assetKey, version, uri })),
    };
  }
}
