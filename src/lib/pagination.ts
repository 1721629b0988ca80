import { badInput } from '../errors/domain-error';

/**
 * Relay connections, one way: every list that can grow without bound takes `first` (its
 * default is the contract's, per field; at most MAX_FIRST) and `after` (a cursor this API
 * gave: base64url of a JSON array of strings, the row's sort key). A cursor that does not
 * decode, or `first` out of range, is BAD_USER_INPUT naming the argument.
 */
export const MAX_FIRST = 1000;

export interface PageInfoView {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface ConnectionView<T> {
  edges: Array<{ node: T; cursor: string }>;
  pageInfo: PageInfoView;
  totalCount: number;
}

/** `first` as given (else `fallback`, the field's default), an integer 0 to `max`. */
export function assertFirst(
  field: string,
  first: number | null | undefined,
  fallback: number,
  max = MAX_FIRST,
): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 0 || n > max) throw badInput(field, `must be 0 to ${max}`);
  return n;
}

/** The opaque cursor of a sort key (one or more strings). */
export const encodeCursor = (...sortKey: string[]): string =>
  Buffer.from(JSON.stringify(sortKey), 'utf8').toString('base64url');

const NOT_A_CURSOR = 'not a cursor this query gave';

/**
 * The sort key of a cursor `encodeCursor` gave with `arity` strings (null for none);
 * anything else is BAD_USER_INPUT on `field`: bytes that are not UTF-8, other JSON, a NUL
 * (never a value Postgres would refuse).
 */
export function decodeCursorKey(field: string, cursor: string | null | undefined, arity: number): string[] | null {
  if (cursor == null) return null;
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) throw badInput(field, NOT_A_CURSOR);
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badInput(field, NOT_A_CURSOR);
  }
  if (
    !Array.isArray(key) ||
    key.length !== arity ||
    !key.every((k): k is string => typeof k === 'string' && !k.includes('\u0000')) ||
    encodeCursor(...key) !== cursor
  )
    throw badInput(field, NOT_A_CURSOR);
  return key;
}

/** A cursor over one text sort key. */
export function decodeCursor(field: string, cursor: string | null | undefined): string | null {
  return decodeCursorKey(field, cursor, 1)?.[0] ?? null;
}

/** A cursor over a bigint id. */
export function decodeIdCursor(field: string, cursor: string | null | undefined): string | null {
  const raw = decodeCursor(field, cursor);
  if (raw === null) return null;
  if (!/^\d{1,19}$/.test(raw)) throw badInput(field, NOT_A_CURSOR);
  return raw;
}

/** The cursor of a row ordered by (time, id). */
export const encodeTimeIdCursor = (at: Date, id: string): string => encodeCursor(at.toISOString(), id);

/** [ISO time, id] of a cursor `encodeTimeIdCursor` gave, with `id` matching `idPattern`. */
export function decodeTimeIdCursor(field: string, cursor: string, idPattern: RegExp): [string, string] {
  const [at, id] = decodeCursorKey(field, cursor, 2) ?? [];
  const time = new Date(at ?? '');
  if (Number.isNaN(time.getTime()) || time.toISOString() !== at || !idPattern.test(id ?? ''))
    throw badInput(field, NOT_A_CURSOR);
  return [at, id];
}

/**
 * An event-stream cursor (`after` of a subscription): the decimal position of an event,
 * as Query.eventCursor and every event's `cursor` give it.
 */
export function decodePositionCursor(field: string, cursor: string | null | undefined): bigint | null {
  if (cursor == null) return null;
  if (!/^\d{1,19}$/.test(cursor)) throw badInput(field, 'not a cursor (a cursor is the decimal position of an event)');
  return BigInt(cursor);
}

/** A connection of one page of `nodes`, each with its cursor. */
export function connectionOf<T>(
  nodes: T[],
  cursorOf: (node: T) => string,
  page: { hasNextPage: boolean; hasPreviousPage: boolean; totalCount: number },
): ConnectionView<T> {
  const edges = nodes.map((node) => ({ node, cursor: cursorOf(node) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    totalCount: page.totalCount,
  };
}

/** A page of `rows` (one extra fetched to know whether there is a next page). */
export function toConnection<T>(
  rows: T[],
  first: number,
  totalCount: number,
  cursorOf: (row: T) => string,
  hasPrevious: boolean,
): ConnectionView<T> {
  return connectionOf(rows.slice(0, first), cursorOf, {
    hasNextPage: rows.length > first,
    hasPreviousPage: hasPrevious,
    totalCount,
  });
}

/** The same connection with each node mapped (row → view, view → GraphQL object). */
export const mapConnection = <T, U>(c: ConnectionView<T>, fn: (node: T) => U): ConnectionView<U> => ({
  ...c,
  edges: c.edges.map((e) => ({ node: fn(e.node), cursor: e.cursor })),
});
