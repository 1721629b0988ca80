import { DateTimeResolver, JSONResolver } from 'graphql-scalars';

export { BigIntScalar } from './big-int.scalar';
/** The contract's `DateTime` (type-graphql's default would be `DateTimeISO`). */
export const DateTimeScalar = DateTimeResolver;
export const JSONScalar = JSONResolver;
