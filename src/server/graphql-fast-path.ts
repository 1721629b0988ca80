import { createHash, randomUUID } from 'node:crypto';
import type http from 'node:http';
import {
  getOperationAST,
  NoSchemaIntrospectionCustomRule,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import type { Services } from '../services/process-services';
import { graphqlContext } from './apollo';
import type { OperationExecutor } from './compiled-execution';
import { primeEventCursor } from './event-cursor';
import { checkRequestInputs } from './input-check';
import { assertCost, type Limits } from './limits';
import type { Metrics } from './metrics';

/** The request id of a request: the client's `x-request-id` when it is sane, else a new one. */
export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && /^[A-Za-z0-9._-]{1,100}$/.test(incoming) ? incoming : randomUUID();
}

/** Content types of a JSON body the fast path reads (anything else: Express and Apollo, as before). */
const JSON_BODY = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

/**
 * The answer's content type for the Accept values clients send most, as Apollo negotiates
 * them (no header, or one that admits both: application/json). Any other Accept value goes
 * the slow way, where Apollo negotiates it.
 */
const CONTENT_TYPE_BY_ACCEPT = new Map<string | undefined, string>([
  [undefined, 'application/json; charset=utf-8'],
  ['*/*', 'application/json; charset=utf-8'],
  ['application/json', 'application/json; charset=utf-8'],
  ['application/graphql-response+json', 'application/graphql-response+json; charset=utf-8'],
  ['application/graphql-response+json, application/json;q=0.9', 'application/graphql-response+json; charset=utf-8'],
]);

/**
 * Documents kept (parsed and valid queries, by query text) and the longest text kept: a
 * parsed document takes some 10–20× its text, so at most ~2 MiB of text, ~40 MiB of trees.
 * A longer query is parsed and validated at each request (as Apollo does on a cache miss).
 */
export const DOCUMENTS_KEPT = 500;
const LONGEST_KEPT = 4 * 1024;

/** Express's weak ETag of a string body (the `etag` package's: byte length in hex, SHA-1 base64 prefix). */
function weakEtag(body: string): string {
  const hash = createHash('sha1').update(body, 'utf8').digest('base64').substring(0, 27);
  return `W/"${Buffer.byteLength(body, 'utf8').toString(16)}-${hash}"`;
}

interface Body {
  query: string;
  operationName: string | null;
  variables: Record<string, unknown> | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request body, when it is a plain GraphQL request (query, operation name, variables and nothing else). */
function plainBody(body: unknown): Body | null {
  if (!isRecord(body) || typeof body.query !== 'string' || body.query === '') return null;
  for (const k of Object.keys(body)) if (k !== 'query' && k !== 'operationName' && k !== 'variables') return null;
  const { operationName, variables } = body;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return null;
  if (variables !== undefined && variables !== null && !isRecord(variables)) return null;
  return { query: body.query, operationName: operationName ?? null, variables: variables ?? undefined };
}

export interface GraphqlFastPath {
  /** Whether a request is one the fast path may read (from its line and headers; nothing is read yet). */
  takes(req: http.IncomingMessage): boolean;
  /**
   * Answer a request whose body the JSON parser has read (`req.body`), or call `slow`
   * (Express and Apollo, which answer it from the same parsed body) without having written
   * anything.
   */
  answer(req: http.IncomingMessage & { body?: unknown }, res: http.ServerResponse, slow: () => void): void;
}

/**
 * POST /graphql for the requests most clients send, straight from `node:http`: a query
 * whose document parses and validates (kept per query text), from a JSON body, for an
 * Accept header Apollo would answer with JSON, that executes without errors. The same
 * checks run as on Apollo's path (the API key, input checks, the cost limit, the event
 * cursor; the validation rules, depth and aliases included, with introspection refused
 * where Apollo refuses it), with the same executor, and the answer is the one Apollo and
 * Express write: the same body, status and headers (x-request-id, cache-control
 * `no-store`, content type, length, weak ETag), counted in the same metrics. Everything
 * else (mutations, GET, other content types or Accept values, parse or validation errors,
 * any error at all, including an operation whose execution reported one: a query reads,
 * so running it again changes nothing) is handed to Express and Apollo, which answer it as
 * they did before; so every error answer, status and log line is theirs.
 */
export function graphqlFastPath(opts: {
  schema: GraphQLSchema;
  rules: ValidationRule[];
  limits: Limits;
  services: Services;
  metrics: Metrics;
  run: OperationExecutor;
}): GraphqlFastPath {
  const { schema, limits, services, metrics, run } = opts;
  const rules = [
    ...specifiedRules,
    ...(services.config.isProduction ? [NoSchemaIntrospectionCustomRule] : []),
    ...opts.rules,
  ];
  /** Query text → its document when it parses, validates and holds queries only; null when it does not. */
  const documents = new Map<string, DocumentNode | null>();
  const documentOf = (query: string): DocumentNode | null => {
    const known = documents.get(query);
    if (known !== undefined) return known;
    let document: DocumentNode | null = null;
    try {
      const parsed = parse(query);
      if (validate(schema, parsed, rules).length === 0) document = parsed;
    } catch {
      // a syntax error: Apollo answers it
    }
    if (query.length <= LONGEST_KEPT) {
      if (documents.size >= DOCUMENTS_KEPT) documents.clear();
      documents.set(query, document);
      metrics.graphqlDocumentsKept.set(documents.size);
    }
    return document;
  };

  const slowly = (req: http.IncomingMessage, slow: () => void, requestId?: string): void => {
    // The same request id on the slow path, so a line logged here and there names one request.
    if (requestId) req.headers['x-request-id'] = requestId;
    metrics.graphqlFastPath.inc({ outcome: 'slow' });
    slow();
  };

  async function answer(
    req: http.IncomingMessage & { body?: unknown },
    res: http.ServerResponse,
    slow: () => void,
  ): Promise<void> {
    const contentType = CONTENT_TYPE_BY_ACCEPT.get(req.headers.accept);
    const body = plainBody(req.body);
    const document = body && contentType ? documentOf(body.query) : null;
    const operation = document && body ? getOperationAST(document, body.operationName) : null;
    if (!body || !contentType || !document || operation?.operation !== OperationTypeNode.QUERY) {
      slowly(req, slow);
      return;
    }
    const requestId = requestIdOf(req.headers['x-request-id']);
    let text: string;
    const end = metrics.graphqlDuration.startTimer();
    try {
      const ctx = await graphqlContext(services, req.headers.authorization, requestId);
      checkRequestInputs(schema, document, body.operationName, body.variables);
      assertCost(schema, document, body.variables, body.operationName, limits.maxCost);
      await primeEventCursor(ctx, document, body.operationName);
      const result = await run(document, body.operationName, body.variables, ctx, true);
      if (result.errors?.length || result.extensions || !result.data) {
        slowly(req, slow, requestId);
        return;
      }
      text = `${JSON.stringify({ data: result.data })}\n`;
    } catch {
      slowly(req, slow, requestId);
      return;
    }
    end({ type: 'query' });
    metrics.graphqlRequests.inc({ type: 'query', outcome: 'ok' });
    metrics.graphqlFastPath.inc({ outcome: 'answered' });
    // Express's headers, in its order and spelling (the request-id middleware, Apollo's, then res.send's).
    res.statusCode = 200;
    res.setHeader('x-request-id', requestId);
    res.setHeader('cache-control', 'no-store');
    res.setHeader('Content-Type', contentType);
    res.setHeader('Content-Length', Buffer.byteLength(text, 'utf8'));
    res.setHeader('ETag', weakEtag(text));
    res.end(text, 'utf8');
  }

  return {
    takes: (req) =>
      req.method === 'POST' &&
      req.url === '/graphql' &&
      JSON_BODY.has(req.headers['content-type']?.toLowerCase() ?? '') &&
      req.headers['content-encoding'] === undefined &&
      CONTENT_TYPE_BY_ACCEPT.has(req.headers.accept),
    answer: (req, res, slow) => {
      answer(req, res, slow).catch((err: unknown) => {
        services.log.error({ err }, 'graphql fast path failed');
        if (!res.headersSent) res.destroy();
      });
    },
  };
}
