import {
  getOperationAST,
  GraphQLError,
  isInputObjectType,
  isObjectType,
  Kind,
  visit,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type NamedTypeNode,
  type SelectionSetNode,
  type TypeNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import {
  fieldExtensionsEstimator,
  getComplexity,
  simpleEstimator,
  type ComplexityEstimator,
} from 'graphql-query-complexity';

export interface Limits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxOperations: number;
}

const limitError = (message: string, reason: string, extra: Record<string, unknown> = {}): GraphQLError =>
  new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', reason, ...extra } });

function selectionDepth(
  set: SelectionSetNode | undefined,
  fragments: Record<string, FragmentDefinitionNode>,
  seen: Set<string>,
): number {
  if (!set) return 0;
  let max = 0;
  for (const sel of set.selections) {
    let d = 0;
    if (sel.kind === Kind.FIELD) d = sel.selectionSet ? 1 + selectionDepth(sel.selectionSet, fragments, seen) : 1;
    else if (sel.kind === Kind.INLINE_FRAGMENT) d = selectionDepth(sel.selectionSet, fragments, seen);
    else {
      const name = sel.name.value;
      const frag = fragments[name];
      if (frag && !seen.has(name)) {
        seen.add(name);
        d = selectionDepth(frag.selectionSet, fragments, seen);
        seen.delete(name);
      }
    }
    if (d > max) max = d;
  }
  return max;
}

/** Field nesting, fragments followed, deeper than `max` is refused. */
export const depthLimit =
  (max: number): ValidationRule =>
  (ctx: ValidationContext): ASTVisitor => {
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const def of ctx.getDocument().definitions)
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments[def.name.value] = def;
    return {
      OperationDefinition(node) {
        const depth = selectionDepth(node.selectionSet, fragments, new Set());
        if (depth > max) {
          ctx.reportError(
            limitError(`Query depth ${depth} exceeds the limit of ${max}`, 'DEPTH_LIMIT', { depth, limit: max }),
          );
        }
      },
    };
  };

/** More than `max` aliased fields in one document is refused (alias-based batching attacks). */
export const aliasLimit =
  (max: number): ValidationRule =>
  (ctx: ValidationContext): ASTVisitor => {
    let aliases = 0;
    let reported = false;
    return {
      Field(node) {
        if (node.alias) aliases += 1;
        if (aliases > max && !reported) {
          reported = true;
          ctx.reportError(limitError(`More than ${max} aliases in one request`, 'ALIAS_LIMIT', { limit: max }));
        }
      },
    };
  };

/** More than `max` operations in one document is refused. */
export const operationLimit =
  (max: number): ValidationRule =>
  (ctx: ValidationContext): ASTVisitor => ({
    Document(node) {
      const ops = node.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;
      if (ops > max)
        ctx.reportError(limitError(`More than ${max} operations in one document`, 'OPERATION_LIMIT', { limit: max }));
    },
  });

export function validationRules(limits: Limits): ValidationRule[] {
  return [depthLimit(limits.maxDepth), aliasLimit(limits.maxAliases), operationLimit(limits.maxOperations)];
}

/** Lists paginated with `first` cost `first` times their children; everything else 1 per field. */
const paginationEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  const first = args.first;
  if (typeof first === 'number' && first > 0) return 1 + childComplexity * first;
  return undefined;
};

/** Whether some field of the schema brings its own complexity (fieldExtensionsEstimator reads it). */
const ownComplexity = new WeakMap<GraphQLSchema, boolean>();

function hasOwnComplexity(schema: GraphQLSchema): boolean {
  let has = ownComplexity.get(schema);
  if (has === undefined) {
    has = Object.values(schema.getTypeMap()).some(
      (t) => isObjectType(t) && Object.values(t.getFields()).some((f) => f.extensions.complexity !== undefined),
    );
    ownComplexity.set(schema, has);
  }
  return has;
}

const namedTypeOf = (type: TypeNode): NamedTypeNode => (type.kind === Kind.NAMED_TYPE ? type : namedTypeOf(type.type));

/**
 * Whether a variable's value can reach an estimator, in a schema without fields of their own
 * complexity: the estimators read only `first` (an Int) and the cost follows
 * `@skip`/`@include` (a Boolean). A String or ID variable can be neither, so
 * `asset(key: $k)` costs the same for every key; nor can an input object (or a list of them),
 * so `submitDag(input: $input)` costs the same for every DAG.
 */
function reachesCost(schema: GraphQLSchema, type: TypeNode): boolean {
  const name = namedTypeOf(type).name.value;
  return name !== 'String' && name !== 'ID' && !isInputObjectType(schema.getType(name));
}

/**
 * What of a request the cost depends on besides its document: the operation and the values
 * of its variables that can reach an estimator (reachesCost; only without fields of their
 * own complexity). Null (not kept) when the key is long.
 */
function costKey(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined | null,
): string | null {
  if (hasOwnComplexity(schema)) return null;
  const op = getOperationAST(document, operationName);
  if (!op) return null;
  const parts: unknown[] = [operationName ?? ''];
  for (const def of op.variableDefinitions ?? []) {
    if (reachesCost(schema, def.type)) parts.push(variables?.[def.variable.name.value] ?? null);
  }
  const key = JSON.stringify(parts);
  return key.length <= 256 ? key : null;
}

/**
 * What getComplexity is given, for a schema without fields of their own complexity: the
 * document with every input-object variable declared `Boolean` (no default), and `true` for
 * its value. getComplexity coerces the variables it is given, and an input object's value
 * cannot change the cost (reachesCost): a 10,000-job `submitDag` input would be coerced once
 * more (the input check and execution coerce it) for nothing. The arguments those variables
 * feed reach the estimators as `true`, which none reads.
 */
interface CostInputs {
  document: DocumentNode;
  retyped: string[];
}

const costInputs = new WeakMap<DocumentNode, CostInputs>();
const BOOLEAN: NamedTypeNode = { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'Boolean' } };

function costInputsOf(schema: GraphQLSchema, document: DocumentNode): CostInputs {
  let inputs = costInputs.get(document);
  if (!inputs) {
    const retyped: string[] = [];
    const costDocument = visit(document, {
      VariableDefinition(def) {
        if (isInputObjectType(schema.getType(namedTypeOf(def.type).name.value))) {
          retyped.push(def.variable.name.value);
          return { ...def, type: BOOLEAN, defaultValue: undefined };
        }
        return undefined;
      },
    });
    costInputs.set(document, (inputs = { document: costDocument, retyped }));
  }
  return inputs;
}

function complexityOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
): number {
  let query = document;
  let values = variables;
  if (!hasOwnComplexity(schema)) {
    const inputs = costInputsOf(schema, document);
    if (inputs.retyped.length) {
      query = inputs.document;
      values = { ...variables };
      for (const name of inputs.retyped) values[name] = true;
    }
  }
  return getComplexity({
    schema,
    query,
    variables: values,
    operationName,
    estimators: [fieldExtensionsEstimator(), paginationEstimator, simpleEstimator({ defaultComplexity: 1 })],
  });
}

/** Costs by document (Apollo keeps one parsed document per query string) and costKey. */
const costs = new WeakMap<DocumentNode, Map<string, number>>();
const COSTS_PER_DOCUMENT = 32;

/** The cost of one operation, with its variables; throws a coded error above the limit. */
export function assertCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined | null,
  max: number,
): number {
  const key = costKey(schema, document, variables, operationName);
  let byKey = costs.get(document);
  let cost = key === null ? undefined : byKey?.get(key);
  if (cost === undefined) {
    cost = complexityOf(schema, document, variables ?? {}, operationName ?? undefined);
    if (key !== null) {
      if (!byKey) costs.set(document, (byKey = new Map()));
      if (byKey.size >= COSTS_PER_DOCUMENT) byKey.clear();
      byKey.set(key, cost);
    }
  }
  if (cost > max) {
    throw new GraphQLError(`Query cost ${cost} exceeds the limit of ${max}`, {
      extensions: { code: 'QUERY_TOO_COMPLEX', cost, limit: max },
    });
  }
  return cost;
}
