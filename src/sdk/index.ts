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
} from './executor';
export {
  NonRetryableError,
  type BoundAssetTracker,
  type ExecutorCallContext,
  type ExecutorInvoker,
  type MaterializationSpec,
  type RecordResult,
  type RunContextLike,
  type UpstreamAsset,
} from '../core/executor-call';
export {
  ExecutorConfigFileError,
  loadExecutorConfig,
  loadWorkerExecutorConfig,
  registerExecutor,
  registerExecutorType,
  unregisterExecutor,
  type ExecutorClass,
  type ExecutorEntry,
  type ExecutorType,
  type ExecutorTypeEntry,
  type LoadExecutorConfigOptions,
} from './executor-config';
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
} from './storage';
export { computeAssetVersion, type AssetVersionInput } from './version';
export { createTestCallContext, MemoryAssetTracker, type RecordCall, type TestCallContext } from './testing';
