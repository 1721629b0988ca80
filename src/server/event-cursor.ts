import { getOperationAST, Kind, OperationTypeNode, type DocumentNode, type SelectionSetNode } from 'graphql';
import type { AppContext } from '../resolvers/context';
import { isAllowed } from '../core/policy';

function selectsEventCursor(document: DocumentNode, set: SelectionSetNode, seen = new Set<string>()): boolean {
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD && s.name.value === 'eventCursor') return true;
    if (s.kind === Kind.INLINE_FRAGMENT && selectsEventCursor(document, s.selectionSet, seen)) return true;
    if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
      seen.add(s.name.value);
      const def = document.definitions.find(
        (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value,
      );
      if (def?.kind === Kind.FRAGMENT_DEFINITION && selectsEventCursor(document, def.selectionSet, seen)) return true;
    }
  }
  return false;
}

/** Whether the operation is a query that selects eventCursor: once per parsed document and operation. */
const selecting = new WeakMap<DocumentNode, Map<string, boolean>>();

function queriesEventCursor(document: DocumentNode, operationName: string | null | undefined): boolean {
  let byName = selecting.get(document);
  if (!byName) selecting.set(document, (byName = new Map()));
  const key = operationName ?? '';
  let selects = byName.get(key);
  if (selects === undefined) {
    const op = getOperationAST(document, operationName);
    if (!op) return false; // not kept: the names kept are the document's own, a bounded few
    selects = op.operation === OperationTypeNode.QUERY && selectsEventCursor(document, op.selectionSet);
    byName.set(key, selects);
  }
  return selects;
}

/**
 * Query.eventCursor is the tenant's position at the start of the request: the root fields
 * of a query run concurrently, so when the operation asks for it, it is read here, before
 * execution starts, and every state field of the same request sees at least what it covers.
 */
export async function primeEventCursor(
  ctx: AppContext,
  document: DocumentNode,
  operationName: string | null | undefined,
): Promise<void> {
  if (!queriesEventCursor(document, operationName) || !isAllowed(ctx.principal, 'read') || !ctx.principal) return;
  ctx.eventCursor = await ctx.services.events.cursor(ctx.principal.tenantId);
}
