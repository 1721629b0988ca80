import type { ApolloServerPlugin } from '@apollo/server';
import type { AppContext } from '../resolvers/context';

/**
 * The HTTP status of an answer that holds no data, by its errors' codes. An answer where
 * every error is one of these gets that status (the highest when they differ); anything
 * else keeps Apollo's. Request errors (the first four) follow the GraphQL-over-HTTP spec.
 */
export const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  BAD_USER_INPUT: 400,
  QUERY_TOO_COMPLEX: 400,
};

/** Codes of a request the client got wrong: 200 for a client that accepts only application/json. */
const CLIENT_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'QUERY_TOO_COMPLEX',
]);

const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';

/**
 * True when the Accept header admits application/json but not
 * application/graphql-response+json (`*`/`*`, `application/*` and no header admit both).
 */
export function acceptsOnlyJson(accept: string | null | undefined): boolean {
  if (!accept) return false;
  const ranges = accept
    .split(',')
    .map((part) => {
      const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type, q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((r) => r.type && r.q > 0);
  const admits = (mediaType: string): boolean =>
    ranges.some((r) => r.type === mediaType || r.type === '*/*' || r.type === `${mediaType.split('/')[0]}/*`);
  return admits('application/json') && !admits(GRAPHQL_RESPONSE_JSON);
}

/**
 * Sets the status of answers without data from their errors' codes: bad input is 400,
 * not 500 (GraphQL-over-HTTP: a client that accepts only application/json gets 200 for
 * a request error, application/graphql-response+json gets 400).
 */
export const errorStatusPlugin: ApolloServerPlugin<AppContext> = {
  requestDidStart: async ({ request }) => ({
    willSendResponse: async ({ response }) => {
      if (response.body.kind !== 'single') return;
      const { data, errors } = response.body.singleResult;
      if (!errors?.length || (data !== undefined && data !== null)) return;
      const codes = errors.map((e) => e.extensions?.code);
      const statuses = codes.map((c) => (typeof c === 'string' ? STATUS_BY_CODE[c] : undefined));
      if (statuses.some((s) => s === undefined)) return;
      const clientOnly = codes.every((c) => CLIENT_ERROR_CODES.has(c as string));
      response.http.status =
        clientOnly && acceptsOnlyJson(request.http?.headers.get('accept')) ? 200 : Math.max(...(statuses as number[]));
    },
  }),
};
