/**
 * OpenLineage event validation, written from the 2-0-2 specification's rules
 * (RunEvent, DatasetEvent, JobEvent) and, like Marquez, lenient where clients differ:
 * an `eventTime` without a zone (read as UTC) or with more than millisecond digits,
 * and a missing `schemaURL`. A fault names its JSON path (`$[2].run.runId`).
 */

export type OlKind = 'RUN' | 'DATASET' | 'JOB';

export const RUN_EVENT_TYPES = ['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER'] as const;
export type OlEventType = (typeof RUN_EVENT_TYPES)[number];

export type Facets = Record<string, unknown>;

export interface OlDataset {
  namespace: string;
  name: string;
  facets: Facets;
  /** inputFacets or outputFacets, as the event gave them. */
  ioFacets: Facets;
}

export interface OlJob {
  namespace: string;
  name: string;
  facets: Facets;
}

export interface OlParent {
  runId: string;
  namespace: string;
  name: string;
}

/** One validated event and the raw object it came from (stored as is). */
export interface OlEvent {
  kind: OlKind;
  raw: Record<string, unknown>;
  eventTime: Date;
  eventType: OlEventType | null;
  runId: string | null;
  runFacets: Facets;
  parent: OlParent | null;
  job: OlJob | null;
  dataset: OlDataset | null;
  inputs: OlDataset[];
  outputs: OlDataset[];
}

/** An event the specification refuses: 400 when the body is not the right shape of JSON, else 422. */
export class OlInvalid extends Error {
  constructor(
    readonly status: 400 | 422,
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'OlInvalid';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** ISO 8601 date-time; the zone and the fraction's length are the lenient parts. */
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/i;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S*$/;
const MAX_TEXT = 4096;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function text(v: unknown, path: string, what = 'a non-empty string'): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT || v.includes('\0')) {
    throw new OlInvalid(422, path, `must be ${what} (at most ${MAX_TEXT} characters)`);
  }
  return v;
}

function facets(v: unknown, path: string): Facets {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new OlInvalid(422, path, 'must be an object of facets');
  for (const [name, f] of Object.entries(v)) {
    if (!isObject(f)) throw new OlInvalid(422, `${path}.${name}`, 'a facet must be an object');
  }
  return v;
}

/** The instant of an `eventTime`: a zone-less time is UTC, digits past the millisecond are dropped. */
export function parseEventTime(v: unknown, path: string): Date {
  if (typeof v !== 'string') throw new OlInvalid(422, path, 'is required: an ISO 8601 date-time');
  const m = DATE_TIME.exec(v.trim());
  if (!m) throw new OlInvalid(422, path, `is not an ISO 8601 date-time: ${JSON.stringify(v.slice(0, 64))}`);
  const [, date, time, fraction, zone] = m;
  const ms = fraction ? `.${fraction.slice(0, 3).padEnd(3, '0')}` : '';
  const z =
    !zone || zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const iso = `${date}T${time.length === 5 ? `${time}:00` : time}${ms}${z}`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || !d.toISOString().startsWith(date)) {
    throw new OlInvalid(422, path, `is not a valid date-time: ${JSON.stringify(v.slice(0, 64))}`);
  }
  return d;
}

function job(v: unknown, path: string): OlJob {
  if (!isObject(v)) throw new OlInvalid(422, path, 'is required: an object with namespace and name');
  return {
    namespace: text(v.namespace, `${path}.namespace`),
    name: text(v.name, `${path}.name`),
    facets: facets(v.facets, `${path}.facets`),
  };
}

function dataset(v: unknown, path: string, io: 'inputFacets' | 'outputFacets' | null): OlDataset {
  if (!isObject(v)) throw new OlInvalid(422, path, 'must be a dataset: an object with namespace and name');
  return {
    namespace: text(v.namespace, `${path}.namespace`),
    name: text(v.name, `${path}.name`),
    facets: facets(v.facets, `${path}.facets`),
    ioFacets: io ? facets(v[io], `${path}.${io}`) : {},
  };
}

function datasets(v: unknown, path: string, io: 'inputFacets' | 'outputFacets'): OlDataset[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OlInvalid(422, path, 'must be a list of datasets');
  return v.map((d, i) => dataset(d, `${path}[${i}]`, io));
}

function parentOf(runFacets: Facets, path: string): OlParent | null {
  const p = runFacets.parent;
  if (p === undefined) return null;
  const at = `${path}.parent`;
  if (!isObject(p)) throw new OlInvalid(422, at, 'must be an object');
  if (!isObject(p.run)) throw new OlInvalid(422, `${at}.run`, 'is required: an object with runId');
  const runId = text(p.run.runId, `${at}.run.runId`, 'a UUID');
  if (!UUID.test(runId)) throw new OlInvalid(422, `${at}.run.runId`, 'must be a UUID');
  const j = job(p.job, `${at}.job`);
  return { runId: runId.toLowerCase(), namespace: j.namespace, name: j.name };
}

/** Validate one event (`path` is its place in the body: `$` or `$[i]`). */
export function validateEvent(v: unknown, path = '$'): OlEvent {
  if (!isObject(v)) throw new OlInvalid(400, path, 'an OpenLineage event must be a JSON object');
  const eventTime = parseEventTime(v.eventTime, `${path}.eventTime`);
  const producer = text(v.producer, `${path}.producer`, 'a URI');
  if (!URI.test(producer)) throw new OlInvalid(422, `${path}.producer`, 'must be a URI');
  if (v.schemaURL !== undefined && (typeof v.schemaURL !== 'string' || !URI.test(v.schemaURL))) {
    throw new OlInvalid(422, `${path}.schemaURL`, 'must be a URI');
  }
  const base = { raw: v, eventTime, eventType: null, runId: null, runFacets: {}, parent: null, job: null };
  if (v.run !== undefined) {
    if (!isObject(v.run)) throw new OlInvalid(422, `${path}.run`, 'must be an object with runId');
    const runId = text(v.run.runId, `${path}.run.runId`, 'a UUID');
    if (!UUID.test(runId)) throw new OlInvalid(422, `${path}.run.runId`, 'must be a UUID');
    let eventType: OlEventType | null = null;
    if (v.eventType !== undefined && v.eventType !== null) {
      if (typeof v.eventType !== 'string' || !(RUN_EVENT_TYPES as readonly string[]).includes(v.eventType)) {
        throw new OlInvalid(422, `${path}.eventType`, `must be one of ${RUN_EVENT_TYPES.join(', ')}`);
      }
      eventType = v.eventType as OlEventType;
    }
    const runFacets = facets(v.run.facets, `${path}.run.facets`);
    return {
      ...base,
      kind: 'RUN',
      eventType,
      runId: runId.toLowerCase(),
      runFacets,
      parent: parentOf(runFacets, `${path}.run.facets`),
      job: job(v.job, `${path}.job`),
      dataset: null,
      inputs: datasets(v.inputs, `${path}.inputs`, 'inputFacets'),
      outputs: datasets(v.outputs, `${path}.outputs`, 'outputFacets'),
    };
  }
  if (v.dataset !== undefined) {
    return { ...base, kind: 'DATASET', dataset: dataset(v.dataset, `${path}.dataset`, null), inputs: [], outputs: [] };
  }
  if (v.job !== undefined) {
    return {
      ...base,
      kind: 'JOB',
      job: job(v.job, `${path}.job`),
      dataset: null,
      inputs: datasets(v.inputs, `${path}.inputs`, 'inputFacets'),
      outputs: datasets(v.outputs, `${path}.outputs`, 'outputFacets'),
    };
  }
  throw new OlInvalid(422, path, 'is neither a RunEvent (run), a DatasetEvent (dataset) nor a JobEvent (job)');
}

/** Validate a whole body: one event, or (batch) a non-empty array of them, at most `max`. */
export function validateBody(body: unknown, batch: boolean, max: number): OlEvent[] {
  if (!batch) return [validateEvent(body, '$')];
  if (!Array.isArray(body)) throw new OlInvalid(400, '$', 'a batch must be a JSON array of events');
  if (body.length === 0) throw new OlInvalid(422, '$', 'a batch holds at least one event');
  if (body.length > max) throw new OlInvalid(422, '$', `a batch holds at most ${max} events`);
  return body.map((e, i) => validateEvent(e, `$[${i}]`));
}
