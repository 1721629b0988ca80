import type { DataSource } from 'typeorm';
import { MemoryStateBackend } from './backends/memory-state-backend';
import { PostgresStateBackend } from './backends/postgres-state-backend';
import { S3StateBackend, type S3StateBackendOptions } from './backends/s3-state-backend';
import type { BackendCommonOptions, StateBackend, StateBackendKind } from './backends/state-backend';

export interface S3Settings {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle?: boolean;
}

export interface CreateBackendOptions extends BackendCommonOptions {
  /** postgres: the app's DataSource (used when no url is given). */
  dataSource?: DataSource;
  /** postgres: a connection URL (its own pool). */
  url?: string;
  /** s3: bucket and key prefix. */
  bucket?: string;
  prefix?: string;
  /** s3: where and how to connect. */
  s3?: S3Settings & Pick<S3StateBackendOptions, 'client'>;
}

/** A backend of `type`, as the seed's `create_backend`. */
export function createBackend(type: StateBackendKind, options: CreateBackendOptions = {}): StateBackend {
  const common = { maxValueBytes: options.maxValueBytes };
  switch (type) {
    case 'memory':
      return new MemoryStateBackend(common);
    case 'postgres':
      return new PostgresStateBackend({ ...common, url: options.url, dataSource: options.dataSource });
    case 's3':
      if (!options.bucket) throw new Error('the s3 task state backend needs a bucket');
      return new S3StateBackend({ ...common, ...options.s3, bucket: options.bucket, prefix: options.prefix });
    default:
      throw new Error(`unknown task state backend ${String(type)}`);
  }
}

/**
 * A backend from a URL: `memory://`, `postgresql://…` (or `postgres://…`; its own pool on
 * that database), `s3://bucket/prefix` (connection settings from `options.s3`).
 */
export function createBackendFromUrl(url: string, options: Omit<CreateBackendOptions, 'url'> = {}): StateBackend {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('the task state URL is not a URL (memory://, postgresql://…, s3://bucket/prefix)');
  }
  switch (parsed.protocol) {
    case 'memory:':
      return createBackend('memory', options);
    case 'postgres:':
    case 'postgresql:':
      return createBackend('postgres', { ...options, url });
    case 's3:': {
      const bucket = parsed.hostname;
      if (!bucket) throw new Error(`task state URL ${url} names no bucket (s3://bucket/prefix)`);
      const prefix = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '');
      return createBackend('s3', { ...options, bucket, prefix });
    }
    default:
      throw new Error(`task state URL: unsupported scheme ${parsed.protocol} (memory://, postgresql://, s3://)`);
  }
}
