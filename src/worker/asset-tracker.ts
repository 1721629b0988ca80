import type { Logger } from 'pino';
import type { Services } from '../services/process-services';
import { computeAssetVersion, type ComputeAssetVersionArgs } from '../core/asset-version';
import type { RecordMaterializationsArgs } from '../services/assets/record-materializations.input';
import type { BoundAssetTracker, MaterializationSpec, RecordResult, UpstreamAsset } from '../core/executor-call';

/** The executor SDK's asset part: the version function the server uses. */
export class AssetTracker {
  static computeAssetVersion(args: ComputeAssetVersionArgs): string {
    return computeAssetVersion(args);
  }
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Record a batch for an executor: never throws into the job. An error (bad input, a
 * conflict, the database away) is logged and returned as `{ ok: false, error }`.
 */
export async function recordMaterializations(
  services: Services,
  tenantId: string,
  input: RecordMaterializationsArgs,
  log: Logger = services.log,
): Promise<RecordResult> {
  try {
    const out = await services.materializations.record(tenantId, input);
    return {
      ok: true,
      materializationIds: out.materializations.map((m) => m.id),
      alreadyRecorded: out.alreadyRecorded,
    };
  } catch (err) {
    const error = messageOf(err);
    log.warn({ err: error, dagId: input.dagId, nodeTaskId: input.nodeTaskId }, 'asset recording failed');
    return { ok: false, materializationIds: [], alreadyRecorded: 0, error };
  }
}

export interface BoundAssetTrackerOptions {
  tenantId: string;
  dagId: string;
  nodeTaskId: string;
  /** The global Job.id. */
  jobId: string;
  tryNumber: number;
  upstreamNodeTaskIds: string[];
  partitionKey?: string | null;
  log?: Logger;
}

/** An AssetTracker bound to one DAG node and attempt (what an executor's call context holds). */
export function createBoundAssetTracker(services: Services, opts: BoundAssetTrackerOptions): BoundAssetTracker {
  const log = opts.log ?? services.log;
  return {
    dagId: opts.dagId,
    nodeTaskId: opts.nodeTaskId,
    async upstream(): Promise<UpstreamAsset[]> {
      return services.materializations.latestForUpstreamNodes(opts.tenantId, opts.dagId, opts.upstreamNodeTaskIds);
    },
    async record(
      assets: MaterializationSpec[],
      upstream: Array<{ assetKey: string; version: string; partitionKey?: string | null }> = [],
    ): Promise<RecordResult> {
      return recordMaterializations(
        services,
        opts.tenantId,
        {
          jobId: opts.jobId,
          tryNumber: opts.tryNumber,
          dagId: opts.dagId,
          nodeTaskId: opts.nodeTaskId,
          partitionKey: opts.partitionKey ?? null,
          assets,
          upstreamAssets: upstream,
        },
        log,
      );
    },
  };
}
