import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../../config/config';
import { TERMINAL_JOB_STATES, type DagState, type JobState } from '../../core/states';
import type { TxHandlers } from '../../core/tx-handlers';
import { notFound } from '../../errors/domain-error';
import { appendEvents, type NewEvent } from '../../events/event-log';
import type { QueuedDispatch } from '../../repositories/job-dispatch.repository';
import type { DagCounters, DagsRepository } from '../../repositories/dags.repository';
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
    private readonly config: AppConfig,
    private readonly handlers: TxHandlers<TxEvents>,
  ) {}

  /**
   * Apply counter deltas to the DAG row (locking it: this serialises the end-of-DAG
   * decision), append the job events and any DAG state change, and finish the DAG when
   * nothing is left open. `finalState` forces the DAG's state (cancelDag, hard SLA).
   */
  async apply(
    m: EntityManager,
    tenantId: string,
    dagId: string,
    transitions: Transition[],
    opts: { finalState?: DagState } = {},
  ): Promise<{ progress: DagProgressView; state: DagState; finished: boolean }> {
    const delta = { pending: 0, active: 0, completed: 0, failed: 0, skipped: 0, cached: 0, savedSeconds: 0 };
    for (const t of transitions) {
      delta[bucket(t.from)] -= 1;
      delta[bucket(t.to)] += 1;
      if (t.cached) {
        delta.cached += 1;
        delta.savedSeconds += t.cached.savedSeconds;
      }
    }
    const activated = transitions.some((t) => t.to === 'ACTIVE');
    const ended = transitions.filter((t) => TERMINAL_JOB_STATES.includes(t.to)).map((t) => t.jobId);
    const row = await this.dags.applyCounters(m, tenantId, dagId, delta, activated, ended);
    if (!row) throw notFound(`DAG ${dagId}`);
    const at = new Date().toISOString();
    const events: NewEvent[] = transitions.map((t) => ({
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
    }));
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
    const isTerminal = (s: DagState) => s === 'COMPLETED' || s === 'FAILED' || s === 'CANCELLED';
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
}
