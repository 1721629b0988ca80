import type { Logger } from 'pino';
import { Loaders } from '../loaders';
import type { AttemptGrant, Principal } from '../core/policy';
import type { RequestServices } from '../services/request-services';
import { assertAllowed } from '../core/policy';

/** Everything a resolver gets: who is calling, a logger bound to the request, services, loaders. */
export interface AppContext {
  requestId: string;
  log: Logger;
  principal: Principal | null;
  services: RequestServices;
  loaders: Loaders;
  /** Over WebSocket: close the caller's socket (a slow subscriber gets 4409 to resume later). */
  closeSocket?: (code: number, reason: string) => void;
  /** Query.eventCursor, read before the operation's other fields (src/server/event-cursor.ts). */
  eventCursor?: string;
}

export function createContext(
  services: RequestServices,
  principal: Principal | null,
  requestId: string,
  log: Logger,
): AppContext {
  return { requestId, log, principal, services, loaders: new Loaders(services, principal) };
}

/** The caller's tenant; resolvers only run after the auth checker, so this cannot be null there. */
export function tenantOf(ctx: AppContext): string {
  return assertAllowed(ctx.principal, 'read').tenantId;
}

/** The attempt of an attempt token's request; resolvers authorized for attempt actions only run for one. */
export function attemptOf(ctx: AppContext): AttemptGrant {
  const attempt = assertAllowed(ctx.principal, 'attempt.read').attempt;
  if (!attempt) throw new Error('an attempt action ran without an attempt token');
  return attempt;
}
