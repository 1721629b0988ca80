import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { assertStateKey, encodeStateWrite, type JsonValue, type StateMetadata } from '../state-value';
import { checkTaskAddress, type TaskInstanceDict, type TaskInstanceRef } from '../task-instance-ref';
import {
  byKey,
  entryOf,
  type BackendCommonOptions,
  type StateBackend,
  type StateEntry,
  type TaskAddress,
} from './state-backend';

export interface S3StateBackendOptions extends BackendCommonOptions {
  bucket: string;
  /** Key prefix, without leading or trailing slash ('' = none). */
  prefix?: string;
  /** A client to use (not destroyed by close()); otherwise one is built from the settings below. */
  client?: S3Client;
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle?: boolean;
}

/** The object body: the seed's `{ value, metadata, task_instance }` plus `created_at`. */
interface Body {
  value: JsonValue;
  metadata: StateMetadata | null;
  created_at: string;
  task_instance: TaskInstanceDict;
}

interface Listed {
  objectKey: string;
  tryNumber: number;
  key: string;
}

const isMissing = (err: unknown): boolean =>
  err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404);

/**
 * State as one JSON object per entry, at the seed's key layout
 * `{prefix}/{tenant}/{dag_name}/{dag_id}/{task}/{try}/{key}.json`. Listings use a Prefix
 * and parse the object keys (no delimiter: some S3-protocol servers return no CommonPrefixes).
 */
export class S3StateBackend implements StateBackend {
  readonly kind = 's3' as const;
  readonly needsDagName = true;
  private readonly client: S3Client;
  private readonly ownClient: boolean;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(private readonly opts: S3StateBackendOptions) {
    if (!opts.bucket) throw new Error('S3StateBackend needs a bucket');
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.ownClient = !opts.client;
    this.client =
      opts.client ??
      new S3Client({
        endpoint: opts.endpoint,
        region: opts.region ?? 'us-east-1',
        forcePathStyle: opts.forcePathStyle,
        credentials:
          opts.accessKeyId && opts.secretAccessKey
            ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }
            : undefined,
        // S3-protocol servers (MinIO, s3rver, …) do not all take the SDK's default checksums.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
  }

  private taskPrefix(tenantId: string, dagName: string, dagId: string, taskId: string): string {
    const head = this.prefix ? `${this.prefix}/` : '';
    return `${head}${tenantId}/${dagName}/${dagId}/${taskId}/`;
  }

  private objectKey(ti: TaskInstanceRef, key: string): string {
    return `${this.taskPrefix(ti.tenantId, ti.dagName, ti.dagId, ti.taskId)}${ti.tryNumber}/${key}.json`;
  }

  private async read(objectKey: string, tryNumber: number, key: string): Promise<StateEntry | null> {
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      const body = JSON.parse((await got.Body?.transformToString('utf-8')) ?? 'null') as Body | null;
      if (!body || typeof body !== 'object') return null;
      return entryOf(key, body.value, body.metadata, tryNumber, new Date(body.created_at));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /**
   * Every object key under `prefix`, page by page. ListObjects (v1) with a marker: every
   * S3-protocol server pages it alike (s3rver fails v2 continuation), and no delimiter is used.
   */
  private async listKeys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, Marker: marker }),
      );
      const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => !!k);
      out.push(...keys);
      if (!page.IsTruncated || keys.length === 0) return out;
      marker = page.NextMarker ?? keys[keys.length - 1];
    }
  }

  /** Every entry object of a task, all tries, parsed from its keys. */
  private async listTask(tenantId: string, dagName: string, dagId: string, taskId: string): Promise<Listed[]> {
    const prefix = this.taskPrefix(tenantId, dagName, dagId, taskId);
    const out: Listed[] = [];
    for (const objectKey of await this.listKeys(prefix)) {
      const m = /^(\d+)\/([^/]+)\.json$/.exec(objectKey.slice(prefix.length));
      if (m) out.push({ objectKey, tryNumber: Number(m[1]), key: m[2] });
    }
    return out;
  }

  async put(ti: TaskInstanceRef, key: string, value: unknown, metadata?: StateMetadata | null): Promise<StateEntry> {
    const w = encodeStateWrite(key, value, metadata, this.opts);
    const createdAt = new Date();
    const body = `{"value":${w.valueJson},"metadata":${w.metadataJson},"created_at":${JSON.stringify(
      createdAt.toISOString(),
    )},"task_instance":${JSON.stringify(ti.toDict())}}`;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(ti, key),
        Body: body,
        ContentType: 'application/json',
      }),
    );
    return entryOf(
      key,
      JSON.parse(w.valueJson) as JsonValue,
      JSON.parse(w.metadataJson) as StateMetadata,
      ti.tryNumber,
      createdAt,
    );
  }

  async get(ti: TaskInstanceRef, key: string): Promise<StateEntry | null> {
    assertStateKey(key);
    return this.read(this.objectKey(ti, key), ti.tryNumber, key);
  }

  async getLatestFromTask(
    tenantId: string,
    dagName: string,
    dagId: string,
    taskId: string,
    key: string,
  ): Promise<StateEntry | null> {
    assertStateKey(key);
    checkTaskAddress(tenantId, dagName, dagId, taskId);
    const hits = (await this.listTask(tenantId, dagName, dagId, taskId))
      .filter((l) => l.key === key)
      .sort((a, b) => b.tryNumber - a.tryNumber);
    for (const hit of hits) {
      const entry = await this.read(hit.objectKey, hit.tryNumber, hit.key);
      if (entry) return entry;
    }
    return null;
  }

  async list(
    tenantId: string,
    dagName: string,
    dagId: string,
    taskId: string,
    tryNumber?: number,
  ): Promise<StateEntry[]> {
    checkTaskAddress(tenantId, dagName, dagId, taskId);
    const all = await this.listTask(tenantId, dagName, dagId, taskId);
    const wanted = tryNumber ?? Math.max(-1, ...all.map((l) => l.tryNumber));
    const entries = await Promise.all(
      all.filter((l) => l.tryNumber === wanted).map((l) => this.read(l.objectKey, l.tryNumber, l.key)),
    );
    return entries.filter((e): e is StateEntry => e !== null).sort(byKey);
  }

  async listLatestForTasks(tenantId: string, tasks: readonly TaskAddress[]): Promise<StateEntry[][]> {
    return Promise.all(
      tasks.map((t) => {
        if (t.dagName === undefined) throw new Error('S3StateBackend.listLatestForTasks needs each dagName');
        return this.list(tenantId, t.dagName, t.dagId, t.taskId);
      }),
    );
  }

  async clearTask(tenantId: string, dagName: string, dagId: string, taskId: string): Promise<void> {
    checkTaskAddress(tenantId, dagName, dagId, taskId);
    const prefix = this.taskPrefix(tenantId, dagName, dagId, taskId);
    // Every object under the task, parsed or not: nothing of an earlier try may survive.
    const keys = await this.listKeys(prefix);
    for (let i = 0; i < keys.length; i += 1000) {
      const res = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
      if (res.Errors?.length) {
        throw new Error(`S3 refused to delete ${res.Errors.length} task state objects: ${res.Errors[0]?.Message}`);
      }
    }
  }

  async close(): Promise<void> {
    if (this.ownClient) this.client.destroy();
  }
}
