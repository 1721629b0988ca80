/**
 * The state vocabularies, each listed once: the engine, the repositories and the GraphQL
 * enums (registered from these lists in schema/) all read them from here.
 */
export const JOB_STATES = [
  'CREATED',
  'RETRY',
  'ACTIVE',
  'COMPLETED',
  'FAILED',
  'EXPIRED',
  'CANCELLED',
  'SKIPPED',
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const DAG_STATES = ['CREATED', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type DagState = (typeof DAG_STATES)[number];

export const SLA_STATUSES = ['NONE', 'ON_TRACK', 'SOFT_MISSED', 'HARD_MISSED', 'MET'] as const;
export type SlaStatus = (typeof SLA_STATUSES)[number];

export const ATTEMPT_OUTCOMES = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'EXPIRED',
  'CANCELLED',
  'LOST',
  'HANDED_BACK',
  'CACHED',
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** States a job never leaves (but by `retryJob`). */
export const TERMINAL_JOB_STATES: readonly JobState[] = ['COMPLETED', 'FAILED', 'EXPIRED', 'CANCELLED', 'SKIPPED'];
/** Terminal states that skip the job's descendants and fail its DAG. */
export const FAILED_JOB_STATES: readonly JobState[] = ['FAILED', 'EXPIRED', 'CANCELLED'];

/** `{ A: 'A', B: 'B' }` from `['A', 'B']`: the object type-graphql registers as an enum. */
export function enumOf<const T extends string>(values: readonly T[]): { readonly [K in T]: K } {
  return Object.freeze(Object.fromEntries(values.map((v) => [v, v]))) as { readonly [K in T]: K };
}
