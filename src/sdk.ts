/**
 * Everything an executor author needs, from one module:
 *
 *   import { Executor, requests, type ExecutorInput, type CallContext } from '<repo>/src/sdk';
 */
export {
  Executor,
  ExecutorConfigError,
  ExecutorHost,
  normalizeEndpoint,
  requests,
  type CallContext,
  type ExecutorHostOptions,
  type ExecutorInput,
  type ExecutorMetas,
  type ExecutorOptions,
  type JsonDocument,
  type RequestsOptions,
  type RuntimeArgs,
} from './workers/executor';
export {
  NonRetryableError,
  type BoundAssetTracker,
  type ExecutorCallContext,
  type ExecutorInvoker,
  type MaterializationSpec,
  type RecordResult,
  type RunContextLike,
  type UpstreamAsset,
} from './workers/executor-context';
export {
  ExecutorConfigFileError,
  loadExecutorConfig,
  registerExecutor,
  unregisterExecutor,
  type ExecutorClass,
  type ExecutorEntry,
  type LoadExecutorConfigOptions,
} from './workers/executor-config';
export {
  createStorage,
  persist,
  sha256Checksum,
  type PersistContext,
  type PersistedAsset,
  type PersistOutput,
  type PersistResult,
  type S3StorageOptions,
  type Storage,
  type StorageOptions,
  type StoredObject,
  type UpstreamRef,
} from './workers/storage';
export { computeAssetVersion, type AssetVersionInput } from './workers/version';
export { createTestCallContext, MemoryAssetTracker, type RecordCall, type TestCallContext } from './workers/testing';
