import { GraphQLError } from 'graphql';

export type ErrorCode = 'BAD_USER_INPUT' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT';

export interface DomainErrorDetails {
  /** The offending input field, as a dotted path (`input.jobs[3].priority`). */
  field?: string;
  /** A machine-readable reason beside the code (`CURSOR_EXPIRED`). */
  reason?: string;
  [key: string]: unknown;
}

/** An error whose message is meant for the caller; its code becomes extensions.code. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: DomainErrorDetails = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }

  toGraphQLError(): GraphQLError {
    return new GraphQLError(this.message, { extensions: { code: this.code, ...this.details } });
  }
}

export const badInput = (field: string, message: string, extra: DomainErrorDetails = {}): DomainError =>
  new DomainError('BAD_USER_INPUT', `${field}: ${message}`, { field, ...extra });
export const notFound = (what: string, extra: DomainErrorDetails = {}): DomainError =>
  new DomainError('NOT_FOUND', `${what} not found`, extra);
export const conflict = (message: string, extra: DomainErrorDetails = {}): DomainError =>
  new DomainError('CONFLICT', message, extra);
