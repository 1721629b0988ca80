import type { EntityManager } from 'typeorm';
import type { JobAttemptsRepository } from '../../repositories/job-attempts.repository';
import { keyOf, startedOf, type BatchItem, type BatchResult } from './attempt-rows';
import type { DagTransitions } from './dag-transitions';

/** What a flush's statements need. */
export interface AttemptBatchDeps {
  attempts: JobAttemptsRepository;
  transitions: DagTransitions;
  leaseMs: number;
  /** Whether a completion may claim its ready dependents itself (fair share off). */
  directClaims: () => boolean;
}

/** A flush's results (by item), the DAGs to settle after commit, and the items left for a transaction. */
export interface AttemptBatchOutcome {
  results: BatchResult[];
  settle: Array<{ tenantId: string; dagId: string }>;
  deferred: number[];
}

/**
 * A flush's items (its starts or its completions; the code takes either kind, and both),
 * each kind in one statement that writes the jobs' counter deltas and events itself: every
 * start (job rows, attempt rows, the activation of a DAG still CREATED), every completion
 * (job rows, attempt rows, dependents counted down once per child: the hot rows of a
 * fan-in, locked as late as possible). No DAG row is written but by a DAG's first start:
 * the DAGs in which jobs ended are settled after commit. A completion past an unmarked SLA
 * deadline has its mark and SLA event written here too; `solo` (no transaction round the
 * statements) leaves such a completion alone instead, nothing of it written, and returns it
 * in `deferred` (indices of `items`) for a transaction.
 */
export async function runAttemptBatch(
  d: AttemptBatchDeps,
  m: EntityManager,
  items: BatchItem[],
  solo: boolean,
): Promise<AttemptBatchOutcome> {
  const results: BatchResult[] = items.map((i) =>
    i.kind === 'start' ? null : { accepted: false, readyJobIds: [], claimed: [], freedKey: false },
  );
  /** A DAG in which jobs completed here (their deltas and events written by the completion statement). */
  type DagBatch = { tenantId: string; dagId: string; slaDue: string[] };
  const byDag = new Map<string, DagBatch>();
  const dagOf = (tenantId: string, dagId: string): DagBatch => {
    const k = `${tenantId}/${dagId}`;
    return byDag.get(k) ?? byDag.set(k, { tenantId, dagId, slaDue: [] }).get(k)!;
  };
  // The same attempt twice in one batch (a duplicate delivery): only the first is looked at.
  const firstOf = new Map<string, number>();
  items.forEach((it, i) => {
    const k = `${it.kind}:${keyOf(it.ref)}`;
    if (!firstOf.has(k)) firstOf.set(k, i);
  });
  const unique = [...firstOf.values()].sort((x, y) => items[x].ref.jobId.localeCompare(items[y].ref.jobId));
  const completes = unique.filter((i) => items[i].kind === 'complete');
  const starts = unique.filter((i) => items[i].kind === 'start');
  const at = new Date().toISOString();
  const deferred: number[] = [];

  if (starts.length > 0) {
    // The statement writes their deltas and events, and activates a DAG still CREATED.
    const rows = await d.attempts.startBatch(
      m,
      starts.map((i) => items[i].ref),
      d.leaseMs,
      at,
    );
    const byKey = new Map(rows.map((r) => [keyOf({ jobId: r.id, tryNumber: r.tryNumber, dispatch: r.dispatch }), r]));
    for (const i of starts) {
      const r = byKey.get(keyOf(items[i].ref));
      if (r) results[i] = startedOf(r);
    }
  }

  // The DAGs in which a completion counted down a dependent that is still open (see below).
  const open = new Set<string>();
  if (completes.length > 0) {
    // The caller enqueues what was claimed after commit; a crash in between is recovered
    // by the dispatcher's stale-dispatch sweep.
    const {
      done,
      counted,
      claimed,
      deferred: later,
    } = await d.attempts.completeBatch(
      m,
      completes.map((i) => items[i] as Extract<BatchItem, { kind: 'complete' }>),
      d.directClaims(),
      at,
      solo,
    );
    const left = new Set(later);
    for (const i of completes) if (left.has(items[i].ref.jobId)) deferred.push(i);
    for (const x of counted) if (x.state === 'CREATED' || x.state === 'RETRY') open.add(`${x.tenantId}/${x.dagId}`);
    const readyJobIds = counted
      .filter((x) => x.pendingDeps === 0 && (x.state === 'CREATED' || x.state === 'RETRY'))
      .map((x) => x.id);
    const accepted = new Map(
      done.map((r) => [keyOf({ jobId: r.id, tryNumber: r.tryNumber, dispatch: r.dispatch }), r.keyed]),
    );
    let first = true;
    for (const i of completes) {
      if (!accepted.has(keyOf(items[i].ref))) continue;
      // What became ready goes back once, on the first completion, to be enqueued once.
      const freedKey = accepted.get(keyOf(items[i].ref)) === true;
      results[i] = first
        ? { accepted: true, readyJobIds, claimed, freedKey }
        : { accepted: true, readyJobIds: [], claimed: [], freedKey };
      first = false;
    }
    for (const r of done) {
      const g = dagOf(r.tenantId, r.dagId);
      if (r.slaDue) g.slaDue.push(r.id);
    }
  }

  const dags = [...byDag.values()].sort((x, y) =>
    x.tenantId === y.tenantId ? x.dagId.localeCompare(y.dagId) : x.tenantId.localeCompare(y.tenantId),
  );
  for (const g of dags) if (g.slaDue.length) await d.transitions.markLate(m, g.tenantId, g.dagId, g.slaDue);
  // The DAGs in which jobs ended may be over, but for one with a job this batch counted down
  // and left open (CREATED or RETRY, its row locked until commit): whatever ends that job
  // commits after this batch and settles the DAG then. Its settle is skipped (a round trip
  // off every chain step).
  const settle = dags
    .filter((g) => !open.has(`${g.tenantId}/${g.dagId}`))
    .map(({ tenantId, dagId }) => ({ tenantId, dagId }));
  return { results, settle, deferred };
}
