import type express from 'express';
import type { Logger } from 'pino';
import { DomainError } from '../errors/domain-error';
import { sendOutage } from './outage';

/** The HTTP status of a REST answer by its domain error's code (anything else is 400). */
const REST_STATUS: Readonly<Record<string, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
};

/**
 * Answers a REST route's failure: a domain error with its code, status and details (the
 * offending field), a store outage as 503 with Retry-After, anything else as a masked 500
 * logged with the request id under `what`.
 */
export function sendRestError(res: express.Response, err: unknown, log: Logger, what: string): void {
  if (err instanceof DomainError) {
    res.status(REST_STATUS[err.code] ?? 400).json({ error: { code: err.code, message: err.message, ...err.details } });
    return;
  }
  if (sendOutage(res, err)) return;
  log.error({ err, requestId: res.locals.requestId }, what);
  res.status(500).json({
    error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', requestId: res.locals.requestId },
  });
}
