import { computeAssetVersion as serverComputeAssetVersion } from '../core/asset-version';

/** What the SDK accepts: every field optional (absent = empty). */
export interface AssetVersionInput {
  payload?: string | Uint8Array | null;
  codeFingerprint?: string | null;
  promptFingerprint?: string | null;
  upstreamVersions?: readonly string[] | null;
}

/** The server's own FRAMED version function (one implementation everywhere), SDK-shaped. */
export function computeAssetVersion(input: AssetVersionInput): string {
  return serverComputeAssetVersion({
    payload: input.payload ?? '',
    codeFingerprint: input.codeFingerprint ?? undefined,
    promptFingerprint: input.promptFingerprint ?? undefined,
    upstreamVersions: input.upstreamVersions ? [...input.upstreamVersions] : [],
  });
}
