import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

const DIGITS = /^-?\d{1,19}$/;
const MAX = 9223372036854775807n;
const MIN = -9223372036854775808n;

function parse(value: unknown): string {
  let big: bigint;
  if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
  else if (typeof value === 'bigint') big = value;
  else if (typeof value === 'string' && DIGITS.test(value)) big = BigInt(value);
  else
    throw new GraphQLError('BigInt must be an integer or a string of digits', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  if (big > MAX || big < MIN)
    throw new GraphQLError('BigInt out of 64-bit range', { extensions: { code: 'BAD_USER_INPUT' } });
  return big.toString();
}

/** A 64-bit integer serialized as a string of digits; inputs accept a string or an integer. Internally a string. */
export const BigIntScalar = new GraphQLScalarType<string | null, string>({
  name: 'BigInt',
  description:
    'A 64-bit integer (sizes in bytes), serialized as a string of digits; inputs accept a string or an integer.',
  serialize: (value) => parse(value),
  parseValue: (value) => parse(value),
  parseLiteral: (ast) => {
    if (ast.kind === Kind.INT || ast.kind === Kind.STRING) return parse(ast.value);
    throw new GraphQLError('BigInt must be an integer or a string of digits', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  },
});
