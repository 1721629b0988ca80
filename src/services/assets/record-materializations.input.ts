import { badInput } from '../../errors/domain-error';
import { assertAssetKey, VERSION } from './asset-views';

/** The plain-object shape of the GraphQL RecordMaterializationsInput (sizeBytes a string or a number). */
export interface MaterializationArgs {
  assetKey: string;
  version: string;
  kind?: string | null;
  sizeBytes?: string | number | null;
  checksum?: string | null;
  uri?: string | null;
  metadata?: unknown;
  /** Overrides the batch's partitionKey for this asset. */
  partitionKey?: string | null;
  codeFingerprint?: string | null;
  promptFingerprint?: string | null;
}

export interface UpstreamAssetArgs {
  assetKey: string;
  version: string;
  partitionKey?: string | null;
}

export interface RecordMaterializationsArgs {
  storageEventId?: string | null;
  jobId?: string | null;
  tryNumber?: number | null;
  dagId?: string | null;
  nodeTaskId?: string | null;
  partitionKey?: string | null;
  /** Set by an attempt token only (never by GraphQL input): the fence then requires that exact dispatch. */
  dispatch?: number | null;
  assets: MaterializationArgs[];
  upstreamAssets?: UpstreamAssetArgs[] | null;
}

export const RECORD_LIMITS = Object.freeze({
  assets: 1_000,
  upstreamAssets: 1_000,
  lineageRows: 100_000,
  metadataBytes: 64 * 1024,
});

/** One asset of a validated batch, its effective partition resolved. */
export interface NormalizedAsset {
  index: number;
  assetKey: string;
  version: string;
  partitionKey: string | null;
  kind: string | null;
  sizeBytes: string | null;
  checksum: string | null;
  uri: string | null;
  /** JSON text. */
  metadata: string | null;
  codeFingerprint: string | null;
  promptFingerprint: string | null;
}

export interface NormalizedBatch {
  storageEventId: string | null;
  jobId: string | null;
  tryNumber: number | null;
  dagId: string | null;
  nodeTaskId: string | null;
  assets: NormalizedAsset[];
  upstream: Array<{ assetKey: string; version: string; partitionKey: string | null }>;
}

const INT64_MAX = 9223372036854775807n;

function optText(field: string, value: unknown, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length < 1 || value.length > max) {
    throw badInput(field, `must be a string of 1 to ${max} characters`);
  }
  return value;
}

function version(field: string, value: unknown): string {
  if (typeof value !== 'string' || !VERSION.test(value)) {
    throw badInput(field, 'a version is 1 to 128 printable characters');
  }
  return value;
}

function sizeBytes(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  let big: bigint;
  if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
  else if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) big = BigInt(value);
  else throw badInput(field, 'must be a whole number of bytes');
  if (big < 0n) throw badInput(field, 'must be 0 or more');
  if (big > INT64_MAX) throw badInput(field, 'is too large');
  return big.toString();
}

function metadata(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(field, 'must be a JSON object');
  const text = JSON.stringify(value);
  if (Buffer.byteLength(text, 'utf8') > RECORD_LIMITS.metadataBytes) {
    throw badInput(field, `must be at most ${RECORD_LIMITS.metadataBytes} bytes of JSON`);
  }
  return text;
}

/**
 * Check a whole batch before anything is written; the first problem is refused with
 * BAD_USER_INPUT naming the field and the index (`input.assets[3].version`).
 */
export function normalizeRecordInput(input: RecordMaterializationsArgs, prefix = 'input'): NormalizedBatch {
  if (!input || !Array.isArray(input.assets)) throw badInput(`${prefix}.assets`, 'must be a list');
  const upstreamIn = input.upstreamAssets ?? [];
  if (!Array.isArray(upstreamIn)) throw badInput(`${prefix}.upstreamAssets`, 'must be a list');
  if (input.assets.length > RECORD_LIMITS.assets) {
    throw badInput(`${prefix}.assets`, `at most ${RECORD_LIMITS.assets} assets per call`);
  }
  if (upstreamIn.length > RECORD_LIMITS.upstreamAssets) {
    throw badInput(`${prefix}.upstreamAssets`, `at most ${RECORD_LIMITS.upstreamAssets} upstream assets per call`);
  }
  const batchPartition = optText(`${prefix}.partitionKey`, input.partitionKey, 255);
  const tryNumber = input.tryNumber ?? null;
  if (tryNumber !== null && (!Number.isInteger(tryNumber) || tryNumber < 0 || tryNumber > 1_000_000)) {
    throw badInput(`${prefix}.tryNumber`, 'must be a whole number from 0');
  }
  const batch: NormalizedBatch = {
    storageEventId: optText(`${prefix}.storageEventId`, input.storageEventId, 255),
    jobId: optText(`${prefix}.jobId`, input.jobId, 255),
    tryNumber,
    dagId: optText(`${prefix}.dagId`, input.dagId, 255),
    nodeTaskId: optText(`${prefix}.nodeTaskId`, input.nodeTaskId, 255),
    assets: [],
    upstream: [],
  };
  const seen = new Map<string, number>();
  input.assets.forEach((a, i) => {
    const f = `${prefix}.assets[${i}]`;
    if (!a || typeof a !== 'object') throw badInput(f, 'must be an object');
    assertAssetKey(`${f}.assetKey`, a.assetKey);
    const v = version(`${f}.version`, a.version);
    const partitionKey =
      a.partitionKey === undefined || a.partitionKey === null
        ? batchPartition
        : optText(`${f}.partitionKey`, a.partitionKey, 255);
    const identity = `${a.assetKey}\0${v}\0${partitionKey ?? '\u0001'}`;
    const earlier = seen.get(identity);
    if (earlier !== undefined) {
      throw badInput(f, `records the same asset, version and partition as ${prefix}.assets[${earlier}]`);
    }
    seen.set(identity, i);
    batch.assets.push({
      index: i,
      assetKey: a.assetKey,
      version: v,
      partitionKey,
      kind: optText(`${f}.kind`, a.kind, 64),
      sizeBytes: sizeBytes(`${f}.sizeBytes`, a.sizeBytes),
      checksum: optText(`${f}.checksum`, a.checksum, 512),
      uri: optText(`${f}.uri`, a.uri, 4096),
      metadata: metadata(`${f}.metadata`, a.metadata),
      codeFingerprint: optText(`${f}.codeFingerprint`, a.codeFingerprint, 512),
      promptFingerprint: optText(`${f}.promptFingerprint`, a.promptFingerprint, 512),
    });
  });
  const seenUp = new Set<string>();
  upstreamIn.forEach((u, i) => {
    const f = `${prefix}.upstreamAssets[${i}]`;
    if (!u || typeof u !== 'object') throw badInput(f, 'must be an object');
    assertAssetKey(`${f}.assetKey`, u.assetKey);
    const v = version(`${f}.version`, u.version);
    const partitionKey = optText(`${f}.partitionKey`, u.partitionKey, 255);
    const identity = `${u.assetKey}\0${v}\0${partitionKey ?? '\u0001'}`;
    if (seenUp.has(identity)) return; // the same input named twice is one lineage row
    const own = batch.assets.find((a) => a.assetKey === u.assetKey);
    if (own) {
      throw badInput(
        f,
        `${u.assetKey} is recorded in this call (${prefix}.assets[${own.index}]): an asset cannot be its own upstream`,
      );
    }
    seenUp.add(identity);
    batch.upstream.push({ assetKey: u.assetKey, version: v, partitionKey });
  });
  if (batch.assets.length * batch.upstream.length > RECORD_LIMITS.lineageRows) {
    throw badInput(
      `${prefix}.upstreamAssets`,
      `assets × upstream assets must be at most ${RECORD_LIMITS.lineageRows} lineage rows per call`,
    );
  }
  return batch;
}
