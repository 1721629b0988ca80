/**
 * What an executor's endpoint receives for one call. The worker runtime (DAG engine)
 * builds it; the executor SDK (src/sdk/executor.ts and friends) consumes it.
 * Pieces owned by later capabilities are optional until they land.
 */
export interface UpstreamAsset {
  assetKey: string;
  version: string;
  partitionKey: string | null;
  uri: string | null;
  /** The upstream node (task id) that recorded it in this DAG. */
  nodeTaskId: string;
}

export interface MaterializationSpec {
  assetKey: string;
  version: string;
  kind?: string | null;
  sizeBytes?: string | number | null;
  checksum?: string | null;
  uri?: string | null;
  metadata?: Record<string, unknown> | null;
  partitionKey?: string | null;
  codeFingerprint?: string | null;
  promptFingerprint?: string | null;
}

export interface RecordResult {
  ok: boolean;
  materializationIds: string[];
  alreadyRecorded: number;
  error?: string;
}

/** Bound to one DAG node and attempt: records what it produced, never throws into the job. */
export interface BoundAssetTracker {
  readonly dagId: string;
  readonly nodeTaskId: string;
  /** The latest materializations that this node's upstream nodes recorded in this DAG. */
  upstream(): Promise<UpstreamAsset[]>;
  record(
    assets: MaterializationSpec[],
    upstream?: Array<{ assetKey: string; version: string; partitionKey?: string | null }>,
  ): Promise<RecordResult>;
}

/** The key-value state shared by the tasks of one DAG run (state kernel). */
export interface RunContextLike {
  set(key: string, value: unknown, opts?: { metadata?: Record<string, unknown> }): Promise<void>;
  get<T = unknown>(key: string, opts?: { fromTask?: string; default?: T }): Promise<T | undefined>;
  push(key: string, value: unknown, opts?: { metadata?: Record<string, unknown> }): Promise<void>;
  pull<T = unknown>(
    key: string,
    opts?: { fromTask?: string; fromTasks?: string[]; default?: T },
  ): Promise<T | undefined>;
}

export interface ExecutorCallContext {
  tenantId: string;
  dagId: string;
  dagName: string;
  /** The global Job.id. */
  jobId: string;
  taskId: string;
  tryNumber: number;
  partitionKey: string | null;
  /** The endpoint name the job asked for (Job.name), e.g. "extract" or "/extract". */
  endpoint: string;
  /** Aborted when the job is cancelled (or the worker must give the attempt up). */
  signal: AbortSignal;
  /** Report progress of the running attempt: 0 to 100, with an optional message. */
  progress(percent: number, message?: string): Promise<void>;
  assets: BoundAssetTracker;
  runContext?: RunContextLike;
  /** The attempt's dispatch number (with jobId and tryNumber: the attempt's identity). */
  dispatch?: number;
  /** The GraphQL endpoint's full URL as an executor elsewhere reaches it (PUBLIC_API_URL). */
  apiUrl?: string;
  /** An attempt token for this exact attempt, valid until `deadline` plus one lease (remote executors). */
  attemptToken?(deadline: Date): string;
}

/** What a worker calls to run one job on an executor it hosts. */
export interface ExecutorInvoker {
  readonly name: string;
  readonly concurrency: number;
  readonly requiresGpu?: boolean;
  /** The code version its cache keys are computed with; none: its jobs never hit the cache. */
  readonly codeVersion?: string | null;
  invoke(data: unknown, ctx: ExecutorCallContext): Promise<unknown>;
  close?(): Promise<void>;
}

/** Thrown (or returned as cause) to fail an attempt at once, with no retry. */
export class NonRetryableError extends Error {
  readonly nonRetryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'NonRetryableError';
  }
}

/**
 * Thrown by an executor that did not start the job and cannot take it now (a remote that
 * is down or shutting down): the worker hands the job back, the same try to its queue, not
 * a failed attempt.
 */
export class NotStartedError extends Error {
  readonly notStarted = true;
  constructor(message: string) {
    super(message);
    this.name = 'NotStartedError';
  }
}
