import { badInput } from '../errors/domain-error';

/** The default cap on one serialised state value (and on its metadata): 1 MiB. */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

/** State keys: what the seed's executors use (`OCR_LINES`, `table.rows`), safe in an S3 object key. */
export const STATE_KEY_PATTERN = /^[A-Za-z0-9_.-]{1,255}$/;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type StateMetadata = Record<string, JsonValue>;

/** What every backend stores for one key of one try. */
export interface StateEntry {
  key: string;
  value: JsonValue;
  metadata: StateMetadata;
  tryNumber: number;
  createdAt: Date;
}

/** A write that passed the rules: the value and metadata as JSON text, ready to store. */
export interface EncodedStateWrite {
  key: string;
  valueJson: string;
  metadataJson: string;
}

export interface StateWriteRules {
  maxValueBytes?: number;
  /** Prefix of the offending field in errors: `input.` for the GraphQL mutation. */
  fieldPrefix?: string;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  const proto: unknown = Object.getPrototypeOf(value);
  const name = (proto as { constructor?: { name?: string } } | null)?.constructor?.name;
  return name ? `a ${name}` : 'a non-plain object';
}

/**
 * The path (`$.rows[3].text`) of the first part of `value` that is not plain JSON, with the
 * reason, or null when it all is. Plain JSON: null, booleans, finite numbers, strings
 * without NUL characters (PostgreSQL's jsonb cannot hold them), arrays without holes and
 * plain objects; no cycles. Dates, Maps, class instances, undefined, functions, BigInt,
 * NaN and Infinity are refused rather than silently changed by JSON.stringify.
 */
export function findNonJson(value: unknown, path = '$', seen = new Set<object>()): string | null {
  switch (typeof value) {
    case 'boolean':
      return null;
    case 'string':
      return value.includes('\u0000') ? `${path} holds a NUL character (\\u0000)` : null;
    case 'number':
      return Number.isFinite(value) ? null : `${path} is ${describe(value)}, which JSON cannot hold`;
    case 'object': {
      if (value === null) return null;
      if (seen.has(value)) return `${path} refers back to itself (a cycle)`;
      seen.add(value);
      try {
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i += 1) {
            if (!(i in value)) return `${path}[${i}] is a hole in the array`;
            const bad = findNonJson(value[i], `${path}[${i}]`, seen);
            if (bad) return bad;
          }
          return null;
        }
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          return `${path} is ${describe(value)}, not a plain object (convert it, e.g. a Date to an ISO string)`;
        }
        if (Object.getOwnPropertySymbols(value).length > 0) return `${path} has symbol keys`;
        for (const [k, v] of Object.entries(value)) {
          const bad = findNonJson(v, `${path}.${k}`, seen);
          if (bad) return bad;
        }
        return null;
      } finally {
        seen.delete(value);
      }
    }
    default:
      return `${path} is ${describe(value)}, which JSON cannot hold`;
  }
}

const human = (bytes: number): string =>
  bytes >= 1024 * 1024
    ? `${+(bytes / (1024 * 1024)).toFixed(2)} MiB`
    : bytes >= 1024
      ? `${+(bytes / 1024).toFixed(1)} KiB`
      : `${bytes} B`;
const size = (bytes: number): string => (bytes >= 1024 ? `${bytes} bytes (${human(bytes)})` : human(bytes));

export function assertStateKey(key: unknown, fieldPrefix = ''): asserts key is string {
  if (typeof key !== 'string' || !STATE_KEY_PATTERN.test(key)) {
    throw badInput(
      `${fieldPrefix}key`,
      `state key ${JSON.stringify(key)} must be 1 to 255 characters of A-Z a-z 0-9 _ . -`,
    );
  }
}

/**
 * The one place the state rules live: the key's shape, values and metadata as plain JSON,
 * each at most `maxValueBytes` serialised (UTF-8). Refusals are BAD_USER_INPUT naming the
 * field and the key.
 */
export function encodeStateWrite(
  key: string,
  value: unknown,
  metadata: unknown,
  rules: StateWriteRules = {},
): EncodedStateWrite {
  const prefix = rules.fieldPrefix ?? '';
  const max = rules.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  assertStateKey(key, prefix);
  const badValue = findNonJson(value);
  if (badValue) {
    throw badInput(`${prefix}value`, `the value of state key "${key}" must be JSON only: ${badValue}`, {
      key,
    });
  }
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw badInput(`${prefix}metadata`, `the metadata of state key "${key}" must be a JSON object`, { key });
    }
    const badMeta = findNonJson(metadata);
    if (badMeta) {
      throw badInput(`${prefix}metadata`, `the metadata of state key "${key}" must be JSON only: ${badMeta}`, {
        key,
      });
    }
  }
  const valueJson = JSON.stringify(value);
  const metadataJson = JSON.stringify(metadata ?? {});
  const valueBytes = Buffer.byteLength(valueJson, 'utf8');
  if (valueBytes > max) {
    throw badInput(
      `${prefix}value`,
      `the value of state key "${key}" is ${size(valueBytes)} serialised; the cap is ${size(max)}`,
      { key, bytes: valueBytes, maxBytes: max },
    );
  }
  const metadataBytes = Buffer.byteLength(metadataJson, 'utf8');
  if (metadataBytes > max) {
    throw badInput(
      `${prefix}metadata`,
      `the metadata of state key "${key}" is ${size(metadataBytes)} serialised; the cap is ${size(max)}`,
      { key, bytes: metadataBytes, maxBytes: max },
    );
  }
  return { key, valueJson, metadataJson };
}
