import {
  coerceInputValue,
  getOperationAST,
  GraphQLError,
  isNonNullType,
  Kind,
  typeFromAST,
  visit,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type ValueNode,
  type VariableDefinitionNode,
} from 'graphql';
import { findInputProblem, keySegment, textProblem, type InputProblem } from '../schema/scalars/input-text';

/**
 * The one check of a request's inputs before any resolver runs (HTTP and WebSocket alike):
 * every string of the variables and of the document's literals must be storable text,
 * and every variable must coerce to its type (the JSON scalar also bounds nesting). The
 * first problem is a BAD_USER_INPUT GraphQLError naming the variable and the field
 * (`extensions.field`, e.g. `input.jobs[0].priority`); nothing has been written.
 */
export function checkRequestInputs(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): void {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return; // graphql-js reports a missing or ambiguous operation itself
  const raw = variables ?? {};
  const defs = operation.variableDefinitions ?? [];
  for (const def of defs) {
    const name = def.variable.name.value;
    if (!Object.prototype.hasOwnProperty.call(raw, name)) continue;
    const problem = findInputProblem(raw[name], name, Number.POSITIVE_INFINITY);
    if (problem) throw badVariable(def, `Variable "$${name}" at "${problem.path}" ${problem.reason}`, problem.path);
  }
  const literal = literalProblemOf(document);
  if (literal) throw badInput(`Argument "${literal.path}" ${literal.reason}`, literal.path);
  for (const def of defs) coerceVariable(schema, def, raw);
}

function coerceVariable(schema: GraphQLSchema, def: VariableDefinitionNode, raw: Record<string, unknown>): void {
  const name = def.variable.name.value;
  // Validation has passed, so the type exists and is an input type.
  const type = typeFromAST(schema, def.type as never) as GraphQLInputType | undefined;
  if (!type) return;
  if (!Object.prototype.hasOwnProperty.call(raw, name) || raw[name] === undefined) {
    if (isNonNullType(type) && !def.defaultValue) {
      throw badVariable(def, `Variable "$${name}" of required type "${String(type)}" was not provided.`, name);
    }
    return;
  }
  const value = raw[name];
  if (value === null && isNonNullType(type)) {
    throw badVariable(def, `Variable "$${name}" of non-null type "${String(type)}" must not be null.`, name);
  }
  coerceInputValue(value, type, (path, invalid, error) => {
    let field = `${name}${path.map((p) => (typeof p === 'number' ? `[${p}]` : keySegment(p))).join('')}`;
    // A missing or unknown input field: graphql-js names it in the message, at the object's path.
    const named = /^Field "([^"]+)" (?:of required type|is not defined)/.exec(error.message);
    if (named) field += keySegment(named[1]);
    throw badVariable(
      def,
      `Variable "$${name}" got invalid value ${brief(invalid)} at "${field}"; ${error.message}`,
      field,
    );
  });
}

/** A short, safe picture of a refused value (never the whole of a huge or deep one). */
function brief(value: unknown): string {
  if (typeof value === 'string') {
    const cut = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(cut);
  }
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? '[…]' : '{…}';
}

/**
 * A document's literals are its own: their problem is found once per parsed document, which
 * Apollo keeps per query string, instead of walking the document on every request.
 */
const literalProblems = new WeakMap<DocumentNode, InputProblem | null>();

function literalProblemOf(document: DocumentNode): InputProblem | null {
  let problem = literalProblems.get(document);
  if (problem === undefined) literalProblems.set(document, (problem = findLiteralProblem(document)));
  return problem;
}

/** A NUL or lone surrogate in a string literal of the document (JSON literals are the scalar's). */
function findLiteralProblem(document: DocumentNode): InputProblem | null {
  let found: InputProblem | null = null;
  const walk = (node: ValueNode, path: string): void => {
    if (found) return;
    if (node.kind === Kind.STRING) {
      const reason = textProblem(node.value);
      if (reason) found = { path, reason };
    } else if (node.kind === Kind.LIST) {
      node.values.forEach((v, i) => walk(v, `${path}[${i}]`));
    } else if (node.kind === Kind.OBJECT) {
      for (const f of node.fields) walk(f.value, `${path}.${f.name.value}`);
    }
  };
  visit(document, {
    Argument(node) {
      walk(node.value, node.name.value);
    },
    VariableDefinition(node) {
      if (node.defaultValue) walk(node.defaultValue, node.variable.name.value);
    },
  });
  return found;
}

function badInput(message: string, field: string, def?: VariableDefinitionNode): GraphQLError {
  return new GraphQLError(message, { nodes: def, extensions: { code: 'BAD_USER_INPUT', field } });
}

const badVariable = (def: VariableDefinitionNode, message: string, field: string): GraphQLError =>
  badInput(message, field, def);
