import { DateTimeResolver } from 'graphql-scalars';

export { BigIntScalar } from './big-int.scalar';
export { JSONScalar } from './json.scalar';
/** The contract's `DateTime` (type-graphql's default would be `DateTimeISO`). */
export const DateTimeScalar = DateTimeResolver;
