import type { DagState, JobState } from './states';

/**
 * The event vocabulary, listed once: each event type and the payload it carries in the
 * event log (JSON) and on the bus. Writers build `NewEvent`s (checked against this map),
 * the relay publishes `LoggedEvent`s, readers switch on `type` and get the payload's type.
 */

export interface DagProgressPayload {
  total: number;
  pending: number;
  active: number;
  completed: number;
  failed: number;
  skipped: number;
  /** Completed from the cache (counted in completed too). */
  cached: number;
  percent: number;
}

/** One node of a finished DAG whose expected assets are not all there. */
export interface IncompleteNodePayload {
  dagId: string;
  nodeTaskId: string;
  expectedAssets: string[];
  requiredAssets: string[];
  materializedAssets: string[];
  missingRequiredAssets: string[];
  completionPercentage: number;
  isComplete: boolean;
}

export type SlaKind = 'SOFT_MISSED' | 'HARD_MISSED';

export interface EventPayloads {
  /** A DAG changed state (CREATED at submission). */
  DAG: {
    dagId: string;
    name: string;
    state: DagState;
    previousState: DagState | null;
    progress: DagProgressPayload;
    at: string;
  };
  /** A job changed state. Readers default what is optional (`at`: the row's time). */
  JOB: {
    dagId: string;
    jobId?: string;
    taskId: string;
    name: string;
    state: JobState;
    previousState?: JobState | null;
    tryNumber: number;
    error?: string | null;
    progressPercent?: number | null;
    at?: string;
    /** ACTIVE → RETRY of the same try (a lost lease, a hand-back): no attempt failed. */
    requeued?: boolean;
  };
  /** A materialization was recorded. */
  ASSET_MATERIALIZED: { assetKey: string; materializationId: string; dagId: string | null; at: string };
  /** A DAG finished with nodes whose expected assets are missing. */
  ASSETS_INCOMPLETE: { dagId: string; incompleteNodes: IncompleteNodePayload[]; at: string };
  /** A soft or hard SLA was missed (`taskId` null: the DAG's own SLA). */
  SLA: { dagId: string; taskId: string | null; kind: SlaKind; deadline: string; at: string };
}

export type EventType = keyof EventPayloads;

export const EVENT_TYPES = [
  'DAG',
  'JOB',
  'ASSET_MATERIALIZED',
  'ASSETS_INCOMPLETE',
  'SLA',
] as const satisfies readonly EventType[];

/** An event to append (the outbox), typed by its `type`. */
export type NewEvent = {
  [T in EventType]: { type: T; dagId: string | null; payload: EventPayloads[T] };
}[EventType];

/** An event as stored and published: `position` is the subscription cursor. */
export type LoggedEvent = {
  [T in EventType]: {
    position: string;
    tenantId: string;
    type: T;
    dagId: string | null;
    payload: EventPayloads[T];
    createdAt: string;
  };
}[EventType];
