/** The state kernel's public surface (DESIGN.md "Task state"). */
export {
  JobsConditionGuard,
  leaseGuard,
  PostgresAttemptGuard,
  staleAttempt,
  type AttemptGuard,
  type GuardCondition,
} from './attempt-guard';
export { MemoryStateBackend } from './backends/memory-state-backend';
export { PostgresStateBackend, type PostgresStateBackendOptions } from './backends/postgres-state-backend';
export { S3StateBackend, type S3StateBackendOptions } from './backends/s3-state-backend';
export type { StateBackend, StateBackendKind, StateEntry, TaskAddress } from './backends/state-backend';
export { createBackend, createBackendFromUrl, type CreateBackendOptions, type S3Settings } from './create-backend';
export {
  RunContext,
  type PullOptions,
  type ReadOptions,
  type RunContextOptions,
  type WriteOptions,
} from './run-context';
export {
  DEFAULT_MAX_VALUE_BYTES,
  STATE_KEY_PATTERN,
  assertStateKey,
  encodeStateWrite,
  findNonJson,
  type JsonValue,
  type StateMetadata,
} from './state-value';
export { TaskInstanceRef, type TaskInstanceDict, type TaskInstanceFields } from './task-instance-ref';
