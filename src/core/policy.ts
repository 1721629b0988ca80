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
  'asset.register': 'submitter',
  'asset.record': 'executor',
  'state.write': 'executor',
  'apikey.manage': 'admin',
} satisfies Record<string, RoleName>);

export type Action = keyof typeof ACTIONS;

export interface Principal {
  tenantId: string;
  tenantSlug: string;
  role: RoleName;
  apiKeyId: string;
  apiKeyName: string;
}

export function isAllowed(principal: Principal | null | undefined, action: Action): boolean {
  return !!principal && ROLE_RANK[principal.role] >= ROLE_RANK[ACTIONS[action]];
}

/** Throws UNAUTHENTICATED without a principal, FORBIDDEN when its role is too small. */
export function assertAllowed(principal: Principal | null | undefined, action: Action): Principal {
  if (!principal) throw new DomainError('UNAUTHENTICATED', 'A valid API key is required (Authorization: Bearer <key>)');
  if (!isAllowed(principal, action)) {
    throw new DomainError('FORBIDDEN', `Role ${principal.role} may not ${action}; it needs ${ACTIONS[action]}`);
  }
  return principal;
}

export function isAction(value: string): value is Action {
  return Object.prototype.hasOwnProperty.call(ACTIONS, value);
}
