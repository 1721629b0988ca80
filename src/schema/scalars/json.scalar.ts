import { GraphQLError, GraphQLScalarType } from 'graphql';
import { JSONResolver } from 'graphql-scalars';
import { findInputProblem } from './input-text';

const base = JSONResolver.toConfig();

function checked(value: unknown): unknown {
  const problem = findInputProblem(value, '$');
  if (problem) {
    throw new GraphQLError(`JSON value at ${problem.path} ${problem.reason}`, {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return value;
}

/**
 * graphql-scalars' JSON, refusing on input what no store keeps: NUL characters, lone
 * surrogates, nesting deeper than MAX_JSON_DEPTH (variables and literals alike).
 */
export const JSONScalar = new GraphQLScalarType({
  ...base,
  parseValue: (value) => checked(base.parseValue(value)),
  parseLiteral: (ast, variables) => checked(base.parseLiteral(ast, variables)),
});
