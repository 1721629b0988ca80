import { DomainError } from '../errors/domain-error';

/** An API key's role; the roles are cumulative (see ROLE_RANK). */
export type RoleName = 'reader' | 'submitter' | 'executor' | 'admin';

/**
 * The one policy module: which role each action needs. The GraphQL auth checker, the
 * WebSocket handshake and the REST routes all call `assertAllowed`.
 * Roles are cumulative: reader < submitter < executor < admin.
 */
export const ROLE_RANK: Readonly<Record<RoleName, number>> = Object.freeze({
  reader: 0,
  submitter: 1,
  executor: 2,
  admin: 3,
});

export const ACTIONS = Object.freeze({
  read: 'reader',
  subscribe: 'reader',
  'dag.submit': 'submitter',
  'dag.cancel': 'submitter',
  'dag.retry': 'submitter',
  'cache.invalidate': 'submitter',
  'asset.register': 'submitter',
  'asset.record': 'executor',
  'state.write': 'executor',
  'lineage.ingest': 'executor',
  'apikey.manage': 'admin',
} satisfies Record<string, RoleName>);

/** Actions only an attempt token may take (no role grants them). */
export const ATTEMPT_ONLY_ACTIONS = Object.freeze(['attempt.read', 'attempt.report'] as const);
type AttemptOnlyAction = (typeof ATTEMPT_ONLY_ACTIONS)[number];

export type Action = keyof typeof ACTIONS | AttemptOnlyAction;

/**
 * What an attempt token's principal may do: read as a `reader` of its tenant, its own
 * attempt's context and progress, and the writes of that attempt (recordings and task state,
 * narrowed to its DAG node and try by the services). Any other write is FORBIDDEN.
 */
const ATTEMPT_ACTIONS: ReadonlySet<Action> = new Set<Action>([
  'read',
  'subscribe',
  'asset.record',
  'state.write',
  ...ATTEMPT_ONLY_ACTIONS,
]);

/** The attempt an attempt token stands for (its principal's `attempt`). */
export interface AttemptGrant {
  jobId: string;
  tryNumber: number;
  dispatch: number;
  dagId: string;
  dagName: string;
  taskId: string;
  /** When the token expires (epoch ms). */
  expiresAt: number;
}

export interface Principal {
  tenantId: string;
  tenantSlug: string;
  role: RoleName;
  apiKeyId: string;
  apiKeyName: string;
  /** Set for an attempt token: its powers are ATTEMPT_ACTIONS, whatever `role` says. */
  attempt?: AttemptGrant;
}

const isAttemptOnly = (action: Action): action is AttemptOnlyAction =>
  (ATTEMPT_ONLY_ACTIONS as readonly string[]).includes(action);

export function isAllowed(principal: Principal | null | undefined, action: Action): boolean {
  if (!principal) return false;
  if (principal.attempt) return ATTEMPT_ACTIONS.has(action);
  if (isAttemptOnly(action)) return false;
  return ROLE_RANK[principal.role] >= ROLE_RANK[ACTIONS[action]];
}

/** What an action needs, in words (for FORBIDDEN messages). */
const needs = (action: Action): string => (isAttemptOnly(action) ? 'an attempt token' : ACTIONS[action]);

/** Throws UNAUTHENTICATED without a principal, FORBIDDEN when its role is too small. */
export function assertAllowed(principal: Principal | null | undefined, action: Action): Principal {
  if (!principal) throw new DomainError('UNAUTHENTICATED', 'A valid API key is required (Authorization: Bearer <key>)');
  if (!isAllowed(principal, action)) {
    const who = principal.attempt ? 'An attempt token' : `Role ${principal.role}`;
    throw new DomainError('FORBIDDEN', `${who} may not ${action}; it needs ${needs(action)}`);
  }
  return principal;
}

export function isAction(value: string): value is Action {
  return (
    Object.prototype.hasOwnProperty.call(ACTIONS, value) || (ATTEMPT_ONLY_ACTIONS as readonly string[]).includes(value)
  );
}
