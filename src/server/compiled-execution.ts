import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  execute,
  GraphQLError,
  Kind,
  OperationTypeNode,
  printSchema,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type Source,
  visit,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { AppContext } from '../resolvers/context';

type Gateway = NonNullable<ApolloServerOptionsWithGateway<AppContext>['gateway']>;
type Executor = NonNullable<Awaited<ReturnType<Gateway['load']>>['executor']>;

/**
 * Root query fields whose answers run to tens of thousands of objects (a whole lineage
 * walk: ~4,000 nodes and ~40,000 edges, ~80,000 fields). graphql-js completes each field
 * one by one (a resolve info, a resolver call, a leaf check): about 1.5 µs a field, which
 * for these answers costs more than the walk itself. Operations that only select them are
 * run by a compiled executor (graphql-jit: the selection compiled once into plain
 * JavaScript, the same resolvers called); every other operation runs on graphql-js as before,
 * but on the HTTP fast path (`anyQuery`), which compiles every query and answers only the
 * results without errors (any other is run again by graphql-js, through Apollo).
 */
const COMPILED_ROOT_FIELDS = new Set(['lineage']);

/** The operation a request runs (the named one, or the only one). */
function operationOf(document: DocumentNode, name: string | null): OperationDefinitionNode | undefined {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return name ? ops.find((o) => o.name?.value === name) : ops.length === 1 ? ops[0] : undefined;
}

/** Only the listed root fields, no fragments at the root (their fields would need resolving here). */
function isCompiledOperation(op: OperationDefinitionNode | undefined): boolean {
  return (
    op?.operation === OperationTypeNode.QUERY &&
    op.selectionSet.selections.length > 0 &&
    op.selectionSet.selections.every((s) => s.kind === Kind.FIELD && COMPILED_ROOT_FIELDS.has(s.name.value))
  );
}

/** The offset in `source` of a (1-based) line and column, lines split as graphql-js splits them. */
function offsetOf(source: Source, line: number, column: number): number {
  const body = source.body;
  let at = 0;
  for (let l = 1; l < line && at < body.length; l += 1) {
    const next = body.slice(at).search(/\r\n|[\n\r]/);
    if (next < 0) return body.length;
    at += next + (body.startsWith('\r\n', at + next) ? 2 : 1);
  }
  return Math.min(body.length, at + column - 1);
}

/**
 * graphql-jit's errors are GraphQLErrors by prototype only: no `extensions` object when the
 * original error has none (Apollo reads `extensions.code`) and fixed properties. The same
 * error as graphql-js builds it, at the same places.
 */
function asGraphQLError(e: GraphQLError, source: Source | undefined): GraphQLError {
  const positions = source && e.locations?.map((l) => offsetOf(source, l.line, l.column));
  return new GraphQLError(e.message, {
    source: positions?.length ? source : undefined,
    positions: positions?.length ? positions : undefined,
    path: e.path,
    originalError: e.originalError ?? undefined,
    extensions: e.extensions,
  });
}

/** Runs one operation of a parsed, validated document: graphql-js, or compiled (see above). */
export type OperationExecutor = (
  document: DocumentNode,
  operationName: string | null,
  variables: Record<string, unknown> | undefined,
  context: AppContext,
  /**
   * Compile any query (not only the COMPILED_ROOT_FIELDS ones) but introspection: for the
   * HTTP fast path, which answers only error-free results and hands any other to Apollo,
   * where graphql-js runs the operation again and writes its errors.
   */
  anyQuery?: boolean,
) => Promise<ExecutionResult>;

/** Whether a document asks for `__schema` or `__type` (left to graphql-js). */
function introspects(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') found = true;
    },
  });
  return found;
}

/**
 * The executor Apollo's gateway hook and the HTTP fast path (graphql-fast-path.ts) share.
 * Compiled queries are kept per parsed document, which Apollo's document store (and the
 * fast path's) already keeps per query string.
 */
export function operationExecutor(schema: GraphQLSchema): OperationExecutor {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  const compile = (document: DocumentNode, name: string | null, anyQuery: boolean): CompiledQuery | null => {
    let byName = compiled.get(document);
    if (!byName) compiled.set(document, (byName = new Map()));
    const key = `${anyQuery ? 'any' : 'listed'}:${name ?? ''}`;
    const known = byName.get(key);
    if (known !== undefined) return known;
    const c = anyQuery && introspects(document) ? null : compileQuery(schema, document, name ?? undefined);
    // Not compilable: graphql-js answers it, with its errors.
    const kept = c && isCompiledQuery(c) ? c : null;
    byName.set(key, kept);
    return kept;
  };
  return async (document, operationName, variables, context, anyQuery = false) => {
    const op = operationOf(document, operationName);
    const compiles = anyQuery ? op?.operation === OperationTypeNode.QUERY : isCompiledOperation(op);
    const c = compiles ? compile(document, operationName, anyQuery) : null;
    if (!c) return execute({ schema, document, contextValue: context, variableValues: variables, operationName });
    const result: ExecutionResult = await c.query(undefined, context, variables ?? {});
    if (!result.errors) return result;
    return { ...result, errors: result.errors.map((e) => asGraphQLError(e, document.loc?.source)) };
  };
}

/**
 * Apollo's gateway hook, used only for what it is documented to do: give Apollo the schema
 * and replace graphql-js `execute` (parsing, validation, plugins, error formatting and the
 * HTTP answer stay Apollo's).
 */
export function compiledExecutionGateway(schema: GraphQLSchema, run: OperationExecutor): Gateway {
  const executor: Executor = ({ document, operationName, request, context }) =>
    run(document, operationName, request.variables, context as AppContext);
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => undefined;
    },
    load: async () => ({ executor }),
    stop: async () => undefined,
  };
}
