import type { GraphQLError } from 'graphql';
import { DomainError } from '../errors/domain-error';
import { isMasked } from '../errors/format-error';
import { isOutageError } from '../errors/outage';
import type { Logger } from '../lib/logger';

/**
 * Unknown errors (masked for the client) are logged as errors with the request id; an
 * outage as a warning (not a bug of ours); a refused request (bad input, a coded domain
 * error) only at debug level.
 */
export function logRefusal(e: GraphQLError, log: Logger, requestId: string): void {
  if (isOutageError(e.originalError ?? e)) {
    log.warn({ err: String(e.originalError ?? e), requestId }, 'store unavailable');
    return;
  }
  if (isMasked(e)) {
    log.error({ err: e.originalError ?? e, requestId, path: e.path }, 'internal error');
    return;
  }
  const original = e.originalError instanceof DomainError ? e.originalError : e;
  const code = original instanceof DomainError ? original.code : e.extensions?.code;
  log.debug({ requestId, code, message: e.message, path: e.path }, 'request refused');
}
