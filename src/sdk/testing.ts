import { randomUUID } from 'node:crypto';
import type {
  BoundAssetTracker,
  ExecutorCallContext,
  MaterializationSpec,
  RecordResult,
  UpstreamAsset,
} from '../core/executor-call';

export interface RecordCall {
  assets: MaterializationSpec[];
  upstream: Array<{ assetKey: string; version: string; partitionKey?: string | null }>;
}

/**
 * An in-memory BoundAssetTracker for executor unit tests: it keeps every `record` call
 * and answers `upstream()` with what it was given. Replays of the same
 * (asset, version, partition) count as `alreadyRecorded`, as the real tracker does.
 */
export class MemoryAssetTracker implements BoundAssetTracker {
  readonly calls: RecordCall[] = [];
  private readonly seen = new Map<string, string>();

  constructor(
    readonly dagId = 'dag-test',
    readonly nodeTaskId = 'task-test',
    public upstreamAssets: UpstreamAsset[] = [],
  ) {}

  async upstream(): Promise<UpstreamAsset[]> {
    return this.upstreamAssets;
  }

  async record(assets: MaterializationSpec[], upstream: RecordCall['upstream'] = []): Promise<RecordResult> {
    this.calls.push({ assets, upstream });
    const ids: string[] = [];
    let alreadyRecorded = 0;
    for (const a of assets) {
      const key = `${a.assetKey}\0${a.version}\0${a.partitionKey ?? ''}`;
      const id = this.seen.get(key);
      if (id) {
        alreadyRecorded++;
        ids.push(id);
      } else {
        const fresh = randomUUID();
        this.seen.set(key, fresh);
        ids.push(fresh);
      }
    }
    return { ok: true, materializationIds: ids, alreadyRecorded };
  }

  /** Every materialization recorded so far, in order. */
  get recorded(): MaterializationSpec[] {
    return this.calls.flatMap((c) => c.assets);
  }

  /** What this node recorded, as a downstream node's `upstream()` would see it. */
  asUpstream(): UpstreamAsset[] {
    return this.recorded.map((a) => ({
      assetKey: a.assetKey,
      version: a.version,
      partitionKey: a.partitionKey ?? null,
      uri: a.uri ?? null,
      nodeTaskId: this.nodeTaskId,
    }));
  }
}

export interface TestCallContext extends ExecutorCallContext {
  assets: MemoryAssetTracker;
  /** The `progress()` reports, in order. */
  progressReports: Array<{ percent: number; message?: string }>;
  /** Aborts `signal`, as a cancellation would. */
  abort(reason?: unknown): void;
}

/** A call context like the worker builds, with an in-memory tracker, for unit tests. */
export function createTestCallContext(
  overrides: Partial<Omit<ExecutorCallContext, 'signal' | 'assets' | 'progress'>> & {
    assets?: MemoryAssetTracker;
    upstream?: UpstreamAsset[];
  } = {},
): TestCallContext {
  const controller = new AbortController();
  const { assets, upstream, ...rest } = overrides;
  const taskId = rest.taskId ?? 'task-test';
  const dagId = rest.dagId ?? 'dag-test';
  const tracker = assets ?? new MemoryAssetTracker(dagId, taskId, upstream ?? []);
  const progressReports: TestCallContext['progressReports'] = [];
  return {
    tenantId: '00000000-0000-4000-8000-000000000000',
    dagName: 'test',
    jobId: randomUUID(),
    tryNumber: 1,
    partitionKey: null,
    endpoint: '/',
    ...rest,
    dagId,
    taskId,
    signal: controller.signal,
    assets: tracker,
    progressReports,
    async progress(percent, message) {
      progressReports.push({ percent, message });
    },
    abort: (reason) => controller.abort(reason),
  };
}
