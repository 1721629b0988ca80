import type { DataSource, EntityManager } from 'typeorm';
import type { AppConfig } from '../../config/config';
import { TERMINAL_JOB_STATES, type DagState, type JobState } from '../../core/states';
import type { TxHandlers } from '../../core/tx-handlers';
import { notFound } from '../../errors/domain-error';
import { appendEvents, type NewEvent } from '../../events/event-log';
import type { QueuedDispatch } from '../../repositories/job-dispatch.repository';
import type { DagCounters, DagsRepository } from '../../repositories/dags.repository';
import type { CounterDelta, DagProgressRepository } from '../../repositories/dag-progress.repository';
import type { CancelledJob, ChangedJob } from '../../repositories/jobs.repository';
import type { DagProgressPayload } from '../../core/events';
import { marksAtEnd } from '../sla-marks';
import type { TxEvents } from '../tx-events';

/** A DAG's counters and percent: what its events carry as `progress`. */
export type DagProgressView = DagProgressPayload;

export interface Transition {
  jobId: string;
  taskId: string;
  name: string;
  from: JobState;
  to: JobState;
  tryNumber: number;
  error?: string | null;
  progressPercent?: number | null;
  /** Completed from the cache: counted in `cached`, its source's run time in the DAG's saved seconds. */
  cached?: { savedSeconds: number };
  /** The same try goes back to be run again (a lost lease, a hand-back): not a failed attempt. */
  requeued?: boolean;
  /** A cancelled job's dispatch that may still sit in its BullMQ queue. */
  queued?: QueuedDispatch;
}

export const queuedOf = (ts: Transition[]): QueuedDispatch[] => ts.flatMap((t) => (t.queued ? [t.queued] : []));

/** A job's change (skipped, unskipped) as a transition to `to`. */
export const transitionOf = (r: ChangedJob, to: JobState): Transition => ({
  jobId: r.id,
  taskId: r.taskId,
  name: r.name,
  from: r.prev,
  to,
  tryNumber: r.tryNumber,
});

/** A cancelled job as a transition, with its dispatch when one may still sit in its queue. */
export const cancelledOf = (r: CancelledJob): Transition => ({
  ...transitionOf(r, 'CANCELLED'),
  queued:
    r.prev !== 'ACTIVE' && r.wasDispatched
      ? { jobId: r.id, tryNumber: r.tryNumber, dispatch: r.dispatch, executor: r.executor, requiresGpu: r.requiresGpu }
      : undefined,
});

/** The DagProgress counter a job in state `s` counts in. */
export const bucket = (s: JobState): 'pending' | 'active' | 'completed' | 'failed' | 'skipped' =>
  s === 'CREATED' || s === 'RETRY'
    ? 'pending'
    : s === 'ACTIVE'
      ? 'active'
      : s === 'COMPLETED'
        ? 'completed'
        : s === 'SKIPPED'
          ? 'skipped'
          : 'failed';

export function progressOf(r: DagCounters): DagProgressView {
  const done = r.n_completed + r.n_failed + r.n_skipped;
  return {
    total: r.n_total,
    pending: r.n_pending,
    active: r.n_active,
    completed: r.n_completed,
    failed: r.n_failed,
    skipped: r.n_skipped,
    cached: r.n_cached ?? 0,
    percent: r.n_total === 0 ? 100 : Math.round((done / r.n_total) * 10_000) / 100,
  };
}

/**
 * The DAG state machine: a transaction's job transitions applied to their DAG (counters,
 * job and DAG events, the DAG's end or reopening, SLA marks at the end), and the
 * in-transaction reactions to a DAG's end ("dag.finished").
 */
export class DagTransitions {
  constructor(
    private readonly dags: DagsRepository,
    private readonly progress: DagProgressRepository,
    private readonly config: AppConfig,
    private readonly handlers: TxHandlers<TxEvents>,
  ) {}

  /**
   * Lock the DAG row (this serialises the end-of-DAG decision), apply this transaction's
   * counter deltas and fold in the batches' committed ones, append the job events and any
   * DAG state change, and finish the DAG when nothing is left open. `finalState` forces
   * the DAG's state (cancelDag, hard SLA). With no transitions: a settle (see `settle`).
   */
  async apply(
    m: EntityManager,
    tenantId: string,
    dagId: string,
    transitions: Transition[],
    opts: { finalState?: DagState } = {},
  ): Promise<{ progress: DagProgressView; state: DagState; finished: boolean }> {
    const activated = transitions.some((t) => t.to === 'ACTIVE');
    const ended = endedOf(transitions);
    const oldState = await this.dags.lockState(m, tenantId, dagId);
    if (!oldState) throw notFound(`DAG ${dagId}`);
    const row = await this.dags.applyCounters(m, tenantId, dagId, oldState, deltaOf(transitions), activated, ended);
    if (!row) throw notFound(`DAG ${dagId}`);
    const at = new Date().toISOString();
    const events = transitions.map((t) => jobEvent(dagId, t, at));
    let state = row.state;
    const progress = progressOf(row);
    const dagEvent = (to: DagState, from: DagState | null): NewEvent => ({
      type: 'DAG',
      dagId,
      payload: { dagId, name: row.name, state: to, previousState: from, progress, at },
    });
    if (row.old_state !== state) events.push(dagEvent(state, row.old_state));

    let finished = false;
    const open = row.n_pending + row.n_active;
    let target: DagState | null = null;
    if (opts.finalState && state !== opts.finalState) target = opts.finalState;
    else if (open === 0 && !isTerminal(state)) target = row.n_failed > 0 ? 'FAILED' : 'COMPLETED';
    else if (open > 0 && (state === 'COMPLETED' || state === 'FAILED')) target = 'ACTIVE'; // reopened by retryJob

    if (target && isTerminal(target)) {
      finished = true;
      await this.dags.finish(m, tenantId, dagId, target, this.config.dagRetentionDays * 86_400);
      events.push(dagEvent(target, state));
      state = target;
    } else if (target === 'ACTIVE') {
      await this.dags.reopen(m, tenantId, dagId);
      events.push(dagEvent('ACTIVE', state));
      state = 'ACTIVE';
    }
    // Ended after a deadline: marked with its event here, whenever the sweep would run.
    events.push(...(await marksAtEnd(m, tenantId, dagId, row, ended, finished)));
    await appendEvents(m, tenantId, events);
    if (finished && state !== 'CANCELLED') await this.handlers.run('dag.finished', m, { tenantId, dagId, state });
    return { progress, state, finished };
  }

  /**
   * Jobs of a group-committed batch that ended past an unmarked deadline, in its
   * transaction: marked, with their SLA events (the batch statement wrote their counter
   * deltas and job events; the DAG's end is decided after commit by `settle`).
   */
  async markLate(m: EntityManager, tenantId: string, dagId: string, jobIds: string[]): Promise<void> {
    const due = { soft_sla: null, hard_sla: null, soft_due: false, hard_due: false, jobs_due: true };
    await appendEvents(m, tenantId, await marksAtEnd(m, tenantId, dagId, due, jobIds, false));
  }

  /**
   * After a commit that ended jobs without deciding its DAG's end: finish the DAGs that
   * have nothing open. The check reads the committed counters without a lock, so the last
   * of several concurrent committers sees every commit and finishes the DAG; only then is
   * the row locked (`apply` with no transitions re-counts under the lock and decides). The
   * scheduler's compaction is the backstop for a process that died before this ran.
   */
  async settle(ds: DataSource, keys: Array<{ tenantId: string; dagId: string }>): Promise<void> {
    for (const c of await this.progress.committedOpen(ds, keys)) {
      if (c.open === 0 && !isTerminal(c.state)) await ds.transaction((m) => this.apply(m, c.tenantId, c.dagId, []));
    }
  }

  /**
   * The scheduler's compaction: the deltas of up to `limit` DAGs folded into their rows
   * (keeping reads' sums short), each DAG settled on the way: the backstop for a process
   * that died between a batch's commit and its settle. Returns how many DAGs it folded.
   */
  async compact(ds: DataSource, limit = 100): Promise<number> {
    const keys = await this.progress.withDeltas(ds, limit);
    for (const k of keys) await ds.transaction((m) => this.apply(m, k.tenantId, k.dagId, []));
    return keys.length;
  }
}

const isTerminal = (s: DagState) => s === 'COMPLETED' || s === 'FAILED' || s === 'CANCELLED';

const endedOf = (ts: Transition[]): string[] =>
  ts.filter((t) => TERMINAL_JOB_STATES.includes(t.to)).map((t) => t.jobId);

/** What transitions change in their DAG's counters. */
function deltaOf(transitions: Transition[]): Required<CounterDelta> {
  const delta = { pending: 0, active: 0, completed: 0, failed: 0, skipped: 0, cached: 0, savedSeconds: 0 };
  for (const t of transitions) {
    delta[bucket(t.from)] -= 1;
    delta[bucket(t.to)] += 1;
    if (t.cached) {
      delta.cached += 1;
      delta.savedSeconds += t.cached.savedSeconds;
    }
  }
  return delta;
}

const jobEvent = (dagId: string, t: Transition, at: string): NewEvent => ({
  type: 'JOB',
  dagId,
  payload: {
    dagId,
    jobId: t.jobId,
    taskId: t.taskId,
    name: t.name,
    state: t.to,
    previousState: t.from,
    tryNumber: t.tryNumber,
    error: t.error ?? null,
    progressPercent: t.progressPercent ?? null,
    at,
    ...(t.requeued ? { requeued: true } : {}),
  },
});
