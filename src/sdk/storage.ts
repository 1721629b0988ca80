import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ExecutorCallContext, MaterializationSpec, RecordResult } from '../core/executor-call';
import { computeAssetVersion } from './version';

/** Where executors write their outputs: a folder (`file://`) or a bucket (`s3://`). */
export interface Storage {
  /** The URL it was created from, e.g. `file:///var/marie/out` or `s3://bucket/prefix`. */
  readonly url: string;
  /** Write `bytes` at `key` (relative, `/`-separated; no `.`/`..` segments). */
  put(key: string, bytes: Uint8Array | string, contentType?: string): Promise<StoredObject>;
  /** Read back what a `uri` (as `put` returned it) names. */
  get(uri: string): Promise<Buffer>;
  close(): Promise<void>;
}

export interface StoredObject {
  uri: string;
  sizeBytes: number;
  /** `sha256:<hex>` of the bytes. */
  checksum: string;
}

export interface S3StorageOptions {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Use this client instead of building one (it is not destroyed by `close()`). */
  client?: S3Client;
}

export interface StorageOptions {
  s3?: S3StorageOptions;
  /** Base for a relative `file://` path (`file://./out`); the process directory by default. */
  cwd?: string;
}

export const sha256Checksum = (bytes: Uint8Array): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function checkKey(key: string): string {
  const segments = key.split('/');
  if (!key || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`storage key "${key}" must be a relative path without empty, "." or ".." segments`);
  }
  return key;
}

const toBytes = (b: Uint8Array | string): Buffer => (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b));

class FileStorage implements Storage {
  constructor(
    readonly url: string,
    private readonly root: string,
  ) {}

  async put(key: string, data: Uint8Array | string): Promise<StoredObject> {
    const bytes = toBytes(data);
    const file = path.join(this.root, ...checkKey(key).split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    // Write then rename, so a reader never sees half a file.
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    return { uri: pathToFileURL(file).href, sizeBytes: bytes.length, checksum: sha256Checksum(bytes) };
  }

  async get(uri: string): Promise<Buffer> {
    if (!uri.startsWith('file://')) throw new Error(`not a file:// uri: ${uri}`);
    const file = path.resolve(fileURLToPath(uri));
    const rel = path.relative(this.root, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${uri} lies outside the storage ${this.url}`);
    return readFile(file);
  }

  async close(): Promise<void> {}
}

class S3Storage implements Storage {
  private readonly client: S3Client;
  private readonly ownsClient: boolean;

  constructor(
    readonly url: string,
    private readonly bucket: string,
    private readonly prefix: string,
    opts: S3StorageOptions,
  ) {
    this.ownsClient = !opts.client;
    this.client =
      opts.client ??
      new S3Client({
        endpoint: opts.endpoint,
        region: opts.region ?? 'us-east-1',
        forcePathStyle: opts.forcePathStyle ?? Boolean(opts.endpoint),
        credentials: opts.credentials,
      });
  }

  async put(key: string, data: Uint8Array | string, contentType?: string): Promise<StoredObject> {
    const bytes = toBytes(data);
    const objectKey = this.prefix ? `${this.prefix}/${checkKey(key)}` : checkKey(key);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: bytes, ContentType: contentType }),
    );
    return { uri: `s3://${this.bucket}/${objectKey}`, sizeBytes: bytes.length, checksum: sha256Checksum(bytes) };
  }

  async get(uri: string): Promise<Buffer> {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!m) throw new Error(`not an s3:// uri: ${uri}`);
    const res = await this.client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
    if (!res.Body) throw new Error(`${uri}: empty response`);
    return Buffer.from(await res.Body.transformToByteArray());
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

/**
 * `file:///abs/dir` (or `file://./rel/dir`, relative to `opts.cwd`) or `s3://bucket/prefix`.
 */
export function createStorage(url: string, opts: StorageOptions = {}): Storage {
  if (url.startsWith('file://')) {
    const root = url.startsWith('file:///')
      ? fileURLToPath(url)
      : path.resolve(opts.cwd ?? process.cwd(), decodeURIComponent(url.slice('file://'.length)));
    return new FileStorage(url, path.resolve(root));
  }
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (s3) return new S3Storage(url, s3[1], s3[2].replace(/\/+$/, ''), opts.s3 ?? {});
  throw new Error(`unsupported storage URL "${url}": use file://<dir> or s3://<bucket>/<prefix>`);
}

// ---------------------------------------------------------------------------------------
// persist(): the seed's StorageMixin. Write outputs, compute their versions, record them
// with one tracker call.

export interface UpstreamRef {
  assetKey: string;
  version: string;
  partitionKey?: string | null;
}

export interface PersistOutput {
  /** e.g. `ocr/text`. */
  assetKey: string;
  /** A string is written as UTF-8 text, bytes as they are, anything else as JSON. */
  data: Buffer | Uint8Array | string | object;
  /** Materialization kind; by default `text`, `binary` or `json` after `data`. */
  kind?: string;
  contentType?: string;
  metadata?: Record<string, unknown>;
  /** Defaults to the executor's `codeFingerprint`; `null` for none. */
  codeFingerprint?: string | null;
  /** Defaults to the executor's `promptFingerprint`; `null` for none. */
  promptFingerprint?: string | null;
  /**
   * Inputs this output was made from. Default: every materialization the node's upstream
   * nodes recorded in this DAG (`ctx.assets.upstream()`), as the seed's examples do.
   */
  upstream?: UpstreamRef[];
}

export interface PersistedAsset extends StoredObject {
  assetKey: string;
  version: string;
  kind: string;
}

export interface PersistResult {
  assets: PersistedAsset[];
  /** The tracker's answer. Recording never fails the job: see `record.ok` / `record.error`. */
  record: RecordResult;
}

export type PersistContext = Pick<
  ExecutorCallContext,
  'tenantId' | 'dagId' | 'taskId' | 'tryNumber' | 'partitionKey' | 'assets'
> & {
  storage: Storage;
  codeFingerprint?: string | null;
  promptFingerprint?: string | null;
  /** Told about recording failures (which never fail the job). */
  onRecordError?: (err: unknown) => void;
};

function encode(o: PersistOutput): { bytes: Buffer; contentType: string; ext: string; kind: string } {
  if (typeof o.data === 'string') {
    return { bytes: Buffer.from(o.data, 'utf8'), contentType: 'text/plain; charset=utf-8', ext: '.txt', kind: 'text' };
  }
  if (o.data instanceof Uint8Array) {
    return { bytes: Buffer.from(o.data), contentType: 'application/octet-stream', ext: '.bin', kind: 'binary' };
  }
  return {
    bytes: Buffer.from(JSON.stringify(o.data), 'utf8'),
    contentType: 'application/json',
    ext: '.json',
    kind: 'json',
  };
}

/**
 * Write each output to `{tenant}/{dagId}/{taskId}/{try}/{assetKey}[@partition].{ext}` in
 * the storage, compute its version (payload = the bytes written, code and prompt
 * fingerprints, upstream versions), and record them all with ONE `ctx.assets.record`.
 * A storage failure throws (the attempt fails and may retry); a recording failure does not.
 */
export async function persist(ctx: PersistContext, outputs: PersistOutput[]): Promise<PersistResult> {
  let nodeUpstream: UpstreamRef[] | null = null;
  const defaultUpstream = async (): Promise<UpstreamRef[]> => {
    if (nodeUpstream === null) {
      try {
        nodeUpstream = (await ctx.assets.upstream()).map((u) => ({
          assetKey: u.assetKey,
          version: u.version,
          partitionKey: u.partitionKey,
        }));
      } catch (err) {
        ctx.onRecordError?.(err);
        nodeUpstream = [];
      }
    }
    return nodeUpstream;
  };

  const base = [ctx.tenantId, ctx.dagId, ctx.taskId, String(ctx.tryNumber)].join('/');
  const suffix = ctx.partitionKey != null ? `@${encodeURIComponent(ctx.partitionKey)}` : '';
  const assets: PersistedAsset[] = [];
  const specs: MaterializationSpec[] = [];
  const lineage = new Map<string, UpstreamRef>();

  for (const o of outputs) {
    const enc = encode(o);
    const upstream = o.upstream ?? (await defaultUpstream());
    // An explicit null means "none"; left out means the executor's.
    const codeFingerprint = o.codeFingerprint !== undefined ? o.codeFingerprint : (ctx.codeFingerprint ?? null);
    const promptFingerprint = o.promptFingerprint !== undefined ? o.promptFingerprint : (ctx.promptFingerprint ?? null);
    const stored = await ctx.storage.put(
      `${base}/${o.assetKey}${suffix}${enc.ext}`,
      enc.bytes,
      o.contentType ?? enc.contentType,
    );
    const version = computeAssetVersion({
      payload: enc.bytes,
      codeFingerprint,
      promptFingerprint,
      upstreamVersions: upstream.map((u) => u.version),
    });
    const kind = o.kind ?? enc.kind;
    assets.push({ assetKey: o.assetKey, version, kind, ...stored });
    specs.push({
      assetKey: o.assetKey,
      version,
      kind,
      sizeBytes: stored.sizeBytes,
      checksum: stored.checksum,
      uri: stored.uri,
      metadata: o.metadata ?? null,
      partitionKey: ctx.partitionKey,
      codeFingerprint,
      promptFingerprint,
    });
    for (const u of upstream) lineage.set(`${u.assetKey}\0${u.version}\0${u.partitionKey ?? ''}`, u);
  }

  if (specs.length === 0) return { assets, record: { ok: true, materializationIds: [], alreadyRecorded: 0 } };
  let record: RecordResult;
  try {
    record = await ctx.assets.record(specs, [...lineage.values()]);
  } catch (err) {
    ctx.onRecordError?.(err);
    record = { ok: false, materializationIds: [], alreadyRecorded: 0, error: (err as Error)?.message ?? String(err) };
  }
  if (!record.ok) ctx.onRecordError?.(new Error(record.error ?? 'asset recording failed'));
  return { assets, record };
}
