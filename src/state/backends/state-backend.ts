import type { JsonValue, StateEntry, StateMetadata } from '../state-value';
import type { GuardCondition } from '../attempt-guard';
import type { TaskInstanceRef } from '../task-instance-ref';

export type { StateEntry } from '../state-value';

export type StateBackendKind = 'memory' | 'postgres' | 's3';

/** A task of a DAG run, named for a batched read (the DataLoader). */
export interface TaskAddress {
  dagId: string;
  taskId: string;
  /** Needed by backends whose layout is keyed by it (`needsDagName`). */
  dagName?: string;
}

/**
 * Where task state lives: `(tenant, dag name, dag id, task, try, key) → JSON value + metadata`.
 * Every backend passes the same contract suite (test/support/state-backend-contract.ts).
 * Writes are checked by `encodeStateWrite` (JSON only, size cap) inside `put`; whether the
 * attempt is current is the caller's check (RunContext, TaskStateService), not the backend's.
 */
export interface StateBackend {
  readonly kind: StateBackendKind;
  /** True when `listLatestForTasks` needs each task's DAG name (its storage layout is keyed by it). */
  readonly needsDagName: boolean;

  /** Create or overwrite `key` at the attempt `ti`; returns what is now stored. */
  put(ti: TaskInstanceRef, key: string, value: unknown, metadata?: StateMetadata | null): Promise<StateEntry>;

  /**
   * Only where the backend writes to the database that holds `jobs` (Postgres on the app's
   * DataSource): `put` in the same statement as the attempt guard's condition; null (and
   * nothing written) when the condition does not hold.
   */
  putIf?(
    ti: TaskInstanceRef,
    key: string,
    value: unknown,
    metadata: StateMetadata | null | undefined,
    guard: (firstParam: number) => GuardCondition,
  ): Promise<StateEntry | null>;

  /** `key` at exactly the attempt `ti` (the caller's own try). */
  get(ti: TaskInstanceRef, key: string): Promise<StateEntry | null>;

  /** `key` from the latest try of that task that holds it. */
  getLatestFromTask(
    tenantId: string,
    dagName: string,
    dagId: string,
    taskId: string,
    key: string,
  ): Promise<StateEntry | null>;

  /** Every key of one try, by key; without `tryNumber`, of the latest try that holds anything. */
  list(tenantId: string, dagName: string, dagId: string, taskId: string, tryNumber?: number): Promise<StateEntry[]>;

  /** `list` without a try number for many tasks at once, in the order asked (one SQL round on Postgres). */
  listLatestForTasks(tenantId: string, tasks: readonly TaskAddress[]): Promise<StateEntry[][]>;

  /** Remove the task's state in every try (before a retry or a lease-expired rerun). */
  clearTask(tenantId: string, dagName: string, dagId: string, taskId: string): Promise<void>;

  close(): Promise<void>;
}

export interface BackendCommonOptions {
  /** Cap on one serialised value (and its metadata); 1 MiB by default. */
  maxValueBytes?: number;
}

/** Sort entries by key (every backend lists in this order). */
export const byKey = (a: StateEntry, b: StateEntry): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export function entryOf(
  key: string,
  value: JsonValue,
  metadata: StateMetadata | null | undefined,
  tryNumber: number,
  createdAt: Date,
): StateEntry {
  return { key, value, metadata: metadata ?? {}, tryNumber, createdAt };
}
