import { createHash } from 'node:crypto';

/**
 * Content-addressed asset versions (DESIGN.md "Versions"), FRAMED scheme:
 * sha256 over `"marie-asset-version/2\0"`, then payload, code fingerprint and prompt
 * fingerprint each as an 8-byte big-endian length and the bytes (absent = empty), then the
 * count of distinct upstream versions (8-byte BE) and each of them, sorted by their UTF-8
 * bytes, framed the same way. Result: `v:sha256:<hex>`.
 *
 * Stand-in for src/services/asset-version.ts (written in parallel); swapped at merge.
 */
export interface AssetVersionInput {
  payload?: string | Uint8Array | null;
  codeFingerprint?: string | null;
  promptFingerprint?: string | null;
  upstreamVersions?: readonly string[] | null;
}

const PREFIX = Buffer.from('marie-asset-version/2\0', 'utf8');

const bytesOf = (v: string | Uint8Array | null | undefined): Buffer =>
  v == null ? Buffer.alloc(0) : typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);

const lengthOf = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

export function computeAssetVersion(input: AssetVersionInput = {}): string {
  const h = createHash('sha256');
  h.update(PREFIX);
  const frame = (bytes: Buffer) => {
    h.update(lengthOf(bytes.length));
    h.update(bytes);
  };
  frame(bytesOf(input.payload));
  frame(bytesOf(input.codeFingerprint));
  frame(bytesOf(input.promptFingerprint));
  const upstream = [...new Set(input.upstreamVersions ?? [])]
    .map((v) => Buffer.from(v, 'utf8'))
    .sort((a, b) => Buffer.compare(a, b));
  h.update(lengthOf(upstream.length));
  for (const u of upstream) frame(u);
  return `v:sha256:${h.digest('hex')}`;
}
