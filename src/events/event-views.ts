import type { DagProgress, DagState, JobState, SlaStatus } from '../schema/dag.type';
import {
  AssetMaterializedEvent,
  DagEvent,
  IncompleteAssetsEvent,
  JobEvent,
  SlaEvent,
  type EventView,
} from '../schema/event.type';
import type { NodeAssetStatusView } from '../services/assets/asset-views';
import type { LoggedEvent } from './relay';

const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : JSON.stringify(v));
const strOrNull = (v: unknown): string | null => (v == null ? null : str(v));
const date = (v: unknown, fallback: string): Date => new Date(typeof v === 'string' ? v : fallback);

/** A logged event as the GraphQL object its subscription returns (null: a type no subscription shows). */
export function toEventView(e: LoggedEvent): EventView | null {
  const p = e.payload;
  const at = date(p.at, e.createdAt);
  switch (e.type) {
    case 'DAG':
      return Object.assign(new DagEvent(), {
        cursor: e.position,
        dagId: str(p.dagId ?? e.dagId),
        name: str(p.name),
        state: p.state as DagState,
        previousState: (p.previousState ?? null) as DagState | null,
        progress: p.progress as DagProgress,
        at,
      });
    case 'JOB':
      return Object.assign(new JobEvent(), {
        cursor: e.position,
        dagId: str(p.dagId ?? e.dagId),
        taskId: str(p.taskId),
        name: str(p.name),
        state: p.state as JobState,
        previousState: (p.previousState ?? null) as JobState | null,
        tryNumber: Number(p.tryNumber ?? 0),
        error: strOrNull(p.error),
        progressPercent: p.progressPercent == null ? null : Number(p.progressPercent),
        at,
      });
    case 'ASSET_MATERIALIZED':
      return Object.assign(new AssetMaterializedEvent(), {
        cursor: e.position,
        assetKey: str(p.assetKey),
        materializationId: str(p.materializationId),
        at,
      });
    case 'ASSETS_INCOMPLETE':
      return Object.assign(new IncompleteAssetsEvent(), {
        cursor: e.position,
        dagId: str(p.dagId ?? e.dagId),
        incompleteNodes: (p.incompleteNodes ?? []) as NodeAssetStatusView[],
        at,
      });
    case 'SLA':
      return Object.assign(new SlaEvent(), {
        cursor: e.position,
        dagId: str(p.dagId ?? e.dagId),
        taskId: strOrNull(p.taskId),
        kind: p.kind as SlaStatus,
        deadline: date(p.deadline, e.createdAt),
        at,
      });
    default:
      return null;
  }
}
