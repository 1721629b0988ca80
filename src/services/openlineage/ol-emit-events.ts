import { createHash } from 'node:crypto';
import type { LoggedEvent } from '../../core/events';
import type { DagState } from '../../core/states';

/**
 * OpenLineage out, the pure part: which RunEvents (2-0-2) one entry of our event log
 * becomes, and the names and run ids they carry (README "OpenLineage out").
 *
 * - A DAG run is a run of the job `<dag name>`; each attempt (job, try) a run of the job
 *   `<dag name>.<task id>`, with a `parent` facet naming its DAG's run. Both jobs live in
 *   the namespace `<OPENLINEAGE_NAMESPACE>/<tenant slug>`.
 * - Run ids: a DAG id that is a UUID is its run id; any other gets the UUID derived from
 *   (tenant, DAG id); an attempt's is derived from (job id, try). Derived ids are the
 *   first 16 bytes of a SHA-256, stamped as version 5 (name-based) UUIDs, so every
 *   re-emission of an event names the same run.
 * - Datasets: an asset that came from OpenLineage keeps its original (namespace, name);
 *   any other asset is (`<OPENLINEAGE_NAMESPACE>/<tenant slug>`, its asset key). Each
 *   carries its version in the `version` facet.
 */

export const PRODUCER = 'https://github.com/marie-ai/marie-control-plane';
export const RUN_EVENT_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
const PARENT_SCHEMA = 'https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet';
const VERSION_SCHEMA =
  'https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet';
const ERROR_SCHEMA = 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet';
const JOB_TYPE_SCHEMA = 'https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A name-based UUID (version 5 layout, SHA-256 digest) of framed parts. */
export function derivedUuid(...parts: string[]): string {
  const b = createHash('sha256').update(parts.join('\0'), 'utf8').digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const dagRunId = (tenantId: string, dagId: string): string =>
  UUID.test(dagId) ? dagId.toLowerCase() : derivedUuid('marie-dag-run', tenantId, dagId);

export const attemptRunId = (jobId: string, tryNumber: number): string =>
  derivedUuid('marie-attempt', jobId, String(tryNumber));

/** A dataset as an emitted event names it, with its version. */
export interface EmitDataset {
  namespace: string;
  name: string;
  version: string;
}

/** An attempt's inputs (upstream refs of what it recorded) and outputs (what it recorded). */
export interface AttemptIo {
  inputs: EmitDataset[];
  outputs: EmitDataset[];
}

export type OlRunEventType = 'START' | 'RUNNING' | 'COMPLETE' | 'FAIL' | 'ABORT';

/** What one log entry asks for: events to build, and for attempt ends, whose inputs and outputs. */
export interface Planned {
  eventType: OlRunEventType;
  tenantId: string;
  dagId: string;
  at: string;
  /** null: the DAG's own run. */
  attempt: { jobId: string; taskId: string; tryNumber: number; error: string | null; upToTry: boolean } | null;
}

const DAG_END: Partial<Record<DagState, OlRunEventType>> = {
  COMPLETED: 'COMPLETE',
  FAILED: 'FAIL',
  CANCELLED: 'ABORT',
};

/**
 * The RunEvents one log entry becomes, in order (none for most transitions):
 * DAG CREATED → START; a reopened DAG (ACTIVE after an end) → RUNNING; COMPLETED,
 * FAILED, CANCELLED → COMPLETE, FAIL, ABORT. JOB → ACTIVE → the attempt's START; ACTIVE →
 * COMPLETED → COMPLETE; ACTIVE → RETRY (a failed try; not a requeue), FAILED, EXPIRED →
 * FAIL of the try that ran; ACTIVE → CANCELLED → ABORT.
 */
export function plan(e: LoggedEvent): Planned[] {
  const base = { tenantId: e.tenantId, at: e.createdAt };
  if (e.type === 'DAG') {
    const p = e.payload;
    const at = p.at ?? e.createdAt;
    if (p.state === 'CREATED') return [{ ...base, at, dagId: p.dagId, eventType: 'START', attempt: null }];
    if (p.state === 'ACTIVE' && p.previousState && p.previousState !== 'CREATED')
      return [{ ...base, at, dagId: p.dagId, eventType: 'RUNNING', attempt: null }];
    const end = DAG_END[p.state];
    return end ? [{ ...base, at, dagId: p.dagId, eventType: end, attempt: null }] : [];
  }
  if (e.type !== 'JOB' || !e.payload.jobId) return [];
  const p = e.payload;
  const at = p.at ?? e.createdAt;
  const attempt = (tryNumber: number, upToTry = false) => ({
    jobId: p.jobId!,
    taskId: p.taskId,
    tryNumber,
    error: p.error ?? null,
    upToTry,
  });
  const one = (eventType: OlRunEventType, tryNumber: number, upToTry = false): Planned => ({
    ...base,
    at,
    dagId: p.dagId,
    eventType,
    attempt: attempt(tryNumber, upToTry),
  });
  if (p.state === 'ACTIVE') return [one('START', p.tryNumber)];
  if (p.state === 'COMPLETED')
    return p.previousState === 'ACTIVE'
      ? [one('COMPLETE', p.tryNumber, true)]
      : [one('START', p.tryNumber), one('COMPLETE', p.tryNumber, true)];
  if (p.previousState !== 'ACTIVE') return [];
  if (p.state === 'RETRY') return p.requeued ? [] : [one('FAIL', p.tryNumber - 1)];
  if (p.state === 'FAILED' || p.state === 'EXPIRED') return [one('FAIL', p.tryNumber)];
  if (p.state === 'CANCELLED') return [one('ABORT', p.tryNumber)];
  return [];
}

/** Names an event needs besides the log entry. */
export interface EmitNames {
  /** `<OPENLINEAGE_NAMESPACE>/<tenant slug>`. */
  namespace: string;
  /** The DAG's name (its id when the DAG is gone). */
  dagName: string;
}

const facet = (schemaURL: string, body: Record<string, unknown>) => ({
  _producer: PRODUCER,
  _schemaURL: schemaURL,
  ...body,
});

const dataset = (d: EmitDataset) => ({
  namespace: d.namespace,
  name: d.name,
  facets: { version: facet(VERSION_SCHEMA, { datasetVersion: d.version }) },
});

/** The RunEvent of one planned step. */
export function buildRunEvent(p: Planned, names: EmitNames, io: AttemptIo | null): Record<string, unknown> {
  const dagRun = dagRunId(p.tenantId, p.dagId);
  const jobType = (kind: string) => ({
    jobType: facet(JOB_TYPE_SCHEMA, { processingType: 'BATCH', integration: 'MARIE', jobType: kind }),
  });
  const common = { eventType: p.eventType, eventTime: p.at, producer: PRODUCER, schemaURL: RUN_EVENT_SCHEMA };
  if (!p.attempt) {
    return {
      ...common,
      run: { runId: dagRun, facets: {} },
      job: { namespace: names.namespace, name: names.dagName, facets: jobType('DAG') },
      inputs: [],
      outputs: [],
    };
  }
  const a = p.attempt;
  const runFacets: Record<string, unknown> = {
    parent: facet(PARENT_SCHEMA, {
      run: { runId: dagRun },
      job: { namespace: names.namespace, name: names.dagName },
    }),
  };
  if (p.eventType === 'FAIL' && a.error)
    runFacets.errorMessage = facet(ERROR_SCHEMA, { message: a.error, programmingLanguage: 'unknown' });
  return {
    ...common,
    run: { runId: attemptRunId(a.jobId, a.tryNumber), facets: runFacets },
    job: { namespace: names.namespace, name: `${names.dagName}.${a.taskId}`, facets: jobType('TASK') },
    inputs: (io?.inputs ?? []).map(dataset),
    outputs: (io?.outputs ?? []).map(dataset),
  };
}
