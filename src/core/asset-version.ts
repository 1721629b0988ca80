import { createHash } from 'node:crypto';

export type VersionSchemeName = 'FRAMED' | 'MARIE_COMPAT';

export interface ComputeAssetVersionArgs {
  payload: Buffer | Uint8Array | string;
  codeFingerprint?: string | null;
  promptFingerprint?: string | null;
  upstreamVersions?: readonly string[] | null;
  scheme?: VersionSchemeName | null;
}

const FRAMED_PREFIX = Buffer.from('marie-asset-version/2\0', 'utf8');

const bytesOf = (v: Buffer | Uint8Array | string | null | undefined): Buffer =>
  v == null ? Buffer.alloc(0) : typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);

/** A field's length as FRAMED versions frame it (8 bytes, big-endian). */
export function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/**
 * The content-addressed version of an asset, `v:sha256:<hex>` (DESIGN.md "Versions").
 * FRAMED (default) length-frames every field, so it is unambiguous; MARIE_COMPAT is
 * byte-identical to the Python Marie-AI tracker. Pure: the server, the SDK and the
 * GraphQL query all call this one function.
 */
export function computeAssetVersion(args: ComputeAssetVersionArgs): string {
  const payload = bytesOf(args.payload);
  const code = bytesOf(args.codeFingerprint);
  const prompt = bytesOf(args.promptFingerprint);
  const upstream = (args.upstreamVersions ?? []).map((v) => Buffer.from(v, 'utf8'));
  const hash = createHash('sha256');
  if ((args.scheme ?? 'FRAMED') === 'MARIE_COMPAT') {
    if (payload.length) hash.update(payload);
    hash.update(code);
    if (prompt.length) hash.update(prompt);
    if (upstream.length)
      hash.update(
        Buffer.concat(
          intersperse(
            upstream.sort((a, b) => Buffer.compare(a, b)),
            Buffer.from('|'),
          ),
        ),
      );
  } else {
    hash.update(FRAMED_PREFIX);
    for (const field of [payload, code, prompt]) hash.update(u64(field.length)).update(field);
    const distinct = [...new Map(upstream.map((b) => [b.toString('hex'), b])).values()].sort((a, b) =>
      Buffer.compare(a, b),
    );
    hash.update(u64(distinct.length));
    for (const v of distinct) hash.update(u64(v.length)).update(v);
  }
  return `v:sha256:${hash.digest('hex')}`;
}

function intersperse(parts: Buffer[], sep: Buffer): Buffer[] {
  const out: Buffer[] = [];
  parts.forEach((p, i) => {
    if (i) out.push(sep);
    out.push(p);
  });
  return out;
}
