import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { DomainError } from './domain-error';
import { isOutageError, serviceUnavailableFormatted } from './outage';

/** Codes a client may see as they are; anything else is masked. */
const PUBLIC_CODES = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'QUERY_TOO_COMPLEX',
]);

/**
 * Turn whatever a resolver threw into what the client sees: DomainErrors and GraphQL
 * request errors keep their message and code; anything else is masked as
 * INTERNAL_SERVER_ERROR (the server logs the original with the request id).
 */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  requestId: string | undefined,
): GraphQLFormattedError {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  if (original instanceof DomainError) {
    return {
      message: original.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: original.code, ...original.details, requestId },
    };
  }
  if (original instanceof ArgumentValidationError) {
    const first = original.extensions.validationErrors?.[0];
    const field = first?.property;
    return {
      message: formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: {
        code: 'BAD_USER_INPUT',
        field,
        validationErrors: original.extensions.validationErrors,
        requestId,
      },
    };
  }
  const wrapped = publicCodeOfWrapped(error);
  if (wrapped) {
    return { ...formatted, extensions: { ...formatted.extensions, code: wrapped, requestId } };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && PUBLIC_CODES.has(code)) {
    return { ...formatted, extensions: { ...formatted.extensions, requestId } };
  }
  if (code === 'SERVICE_UNAVAILABLE' || isOutageError(original))
    return serviceUnavailableFormatted(formatted, requestId);
  return {
    message: 'Internal server error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  };
}

/**
 * A coded GraphQLError that Apollo wrapped (a scalar's BAD_USER_INPUT found while
 * validating a literal becomes a GRAPHQL_VALIDATION_FAILED): the inner code is the one
 * that says what went wrong.
 */
function publicCodeOfWrapped(error: unknown): string | undefined {
  if (!(error instanceof GraphQLError) || !(error.originalError instanceof GraphQLError)) return undefined;
  if (error.originalError === error) return undefined;
  const inner = error.originalError.extensions?.code;
  return inner === 'BAD_USER_INPUT' ? inner : undefined;
}

/** True when the client sees this error as a masked INTERNAL_SERVER_ERROR (a bug, to be logged). */
export function isMasked(error: GraphQLError): boolean {
  const formatted = formatError({ message: error.message, extensions: error.extensions }, error, undefined);
  return formatted.extensions?.code === 'INTERNAL_SERVER_ERROR';
}
