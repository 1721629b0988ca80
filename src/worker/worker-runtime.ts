import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { isOutageError } from '../errors/outage';
import type { DispatchPayload } from '../jobs/queues';
import { dispatchPayload } from '../jobs/dispatcher';
import type { Services } from '../services/process-services';
import { CANCEL, EXECUTOR_STATUS_REQUEST, executorStatusReplyChannel } from '../core/bus-channels';
import { type ExecutorStatusReply } from '../services/deployment.service';
import type { AttemptRef, StartedAttempt } from '../services/engine/attempt.service';
import { createNoopExecutor } from '../sdk/builtin/noop.executor';
import type { ExecutorInvoker } from '../core/executor-call';
import { detectGpus, type GpuProbe } from './gpu';
import { mergeGpus, QueueConsumers } from './queue-consumers';
import type { GpuInfo } from '../core/bus-channels';
import type { ExecutorSlots } from '../entities/worker.entity';
import { RemoteExecutor } from './remote/remote-executor';
import { fromCache } from './cache-lookup';
import { callContext, isNonRetryable, isNotStarted, type CallContextFactory } from './attempt-call';

export type { CallContextFactory } from './attempt-call';

/** What `invoke` returns when there is nothing to complete (failed and reported, or handed back). */
const NOTHING_TO_COMPLETE = Symbol('nothing to complete');

export interface WorkerRuntimeOptions {
  /** The GraphQL URL remote executors call back (their context's `apiUrl`). */
  apiUrl?: () => string;
}

interface Running {
  executor: string;
  ref: AttemptRef;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The worker role: hosts executors (the built-in `noop` always), consumes their BullMQ
 * queues (GPU queues only when it has a healthy GPU), runs each job under a Postgres
 * lease renewed by heartbeat, reports the outcome through the job engine, honours
 * cancellation with an AbortSignal, and on stop hands back what it cannot finish.
 */
export class WorkerRuntime {
  readonly id: string;
  readonly invokers: ExecutorInvoker[];
  private readonly consumers: QueueConsumers;
  private readonly running = new Map<string, Running>();
  /** Completions of finished handlers waiting for their commit (see `process`), by executor. */
  private readonly reporting = new Map<string, Set<Promise<void>>>();
  private timer: NodeJS.Timeout | null = null;
  private probe: GpuProbe = { gpus: [], healthy: true };
  private gpuCheck: Promise<boolean> | null = null;
  private stopped = false;
  private paused = false;
  /** The last heartbeat reached Postgres. */
  private dbReachable = true;
  private unsubscribeCancel: (() => Promise<void>) | null = null;
  private unsubscribeStatus: (() => Promise<void>) | null = null;
  /** Stops the dispatcher handing this worker claimed jobs (EAGER_DISPATCH). */
  private stopLocalRuns: (() => void) | null = null;

  constructor(
    private readonly services: Services,
    invokers: ExecutorInvoker[] = [],
    private readonly contexts: CallContextFactory | null = null,
    private readonly options: WorkerRuntimeOptions = {},
  ) {
    this.consumers = new QueueConsumers(services.config, services.log, (q) => services.queues.prefixOf(q));
    this.id = services.config.workerId ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.invokers = invokers.some((i) => i.name === 'noop')
      ? invokers
      : [createNoopExecutor(services.config.noopConcurrency), ...invokers];
  }

  get executors(): string[] {
    return this.invokers.map((i) => i.name);
  }

  get concurrency(): number {
    return this.invokers.reduce((n, i) => n + i.concurrency, 0);
  }

  get activeJobs(): number {
    return this.running.size;
  }

  /** Takes jobs: not stopping, its GPU check passes and its database answers its heartbeat. */
  get healthy(): boolean {
    return !this.stopped && this.probe.healthy && this.dbReachable;
  }

  get hasGpu(): boolean {
    return this.probe.gpus.length > 0 && this.probe.healthy;
  }

  private get remotes(): RemoteExecutor[] {
    return this.invokers.filter((i): i is RemoteExecutor => i instanceof RemoteExecutor);
  }

  /** The host's GPUs and those its healthy remote executors report (`workers`' gpus). */
  get gpus(): GpuInfo[] {
    return mergeGpus([this.probe.gpus, ...this.remotes.map((r) => r.gpus)]);
  }

  /**
   * Whether a queue consumer should take jobs now: the worker is healthy, and a remote
   * executor's queues only while it answers healthy (its GPU queue: with a GPU).
   */
  private shouldRun(inv: ExecutorInvoker, gpu: boolean): boolean {
    if (this.stopped || !this.probe.healthy || !this.dbReachable) return false;
    if (inv instanceof RemoteExecutor) return gpu ? inv.hasGpu : inv.healthy;
    return true;
  }

  private probeGpus(): Promise<GpuProbe> {
    return detectGpus(5_000, this.services.config.nvidiaSmiPath);
  }

  /** What GET /api/executors/:name/status hears from this worker (no model call). */
  statusOf(executor: string): ExecutorStatusReply | null {
    const inv = this.invokers.find((i) => i.name === executor);
    if (!inv || this.stopped) return null;
    const replicas = (inv as { replicas?: unknown }).replicas;
    const remote = inv instanceof RemoteExecutor ? inv : null;
    return {
      executor,
      workerId: this.id,
      status: this.healthy && !this.paused && (remote?.healthy ?? true) ? 'ok' : 'unhealthy',
      activeJobs: [...this.running.values()].filter((r) => r.executor === executor).length,
      concurrency: inv.concurrency,
      gpus: remote ? remote.gpus : this.probe.gpus,
      replicas: Array.isArray(replicas) ? replicas.length : 1,
      ...(remote ? { remote: remote.status } : {}),
    };
  }

  async start(): Promise<void> {
    this.probe = await this.probeGpus();
    // A GPU that fails its health check at start: no queue runs until it passes.
    this.paused = !this.probe.healthy;
    // Each remote's first status check: its queues run from the start only when it is healthy.
    await Promise.all(this.remotes.map((r) => r.start(this.services.log)));
    for (const r of this.remotes) r.onChange(() => this.applyHealth());
    const { bus } = this.services;
    this.unsubscribeStatus = await bus.listen(EXECUTOR_STATUS_REQUEST, (req) => {
      const reply = this.statusOf(String(req.executor));
      if (!reply) return;
      bus
        .send(executorStatusReplyChannel(req.requestId), reply)
        .catch((err: unknown) => this.services.log.warn({ err }, 'executor status reply failed'));
    });
    this.unsubscribeCancel = await bus.listen(CANCEL, (ids) => {
      for (const id of ids) this.running.get(String(id))?.controller.abort(new Error('cancelled'));
    });
    const { config } = this.services;
    for (const inv of this.invokers) {
      // A remote's GPU queue runs while the remote reports a healthy GPU (it may come later).
      const gpus = this.probe.gpus.length > 0 || inv instanceof RemoteExecutor ? [false, true] : [false];
      for (const gpu of gpus) this.consumers.open(inv, gpu, this.shouldRun(inv, gpu), (p) => this.process(inv, p, gpu));
    }
    if (config.eagerDispatch)
      this.stopLocalRuns = this.services.dispatcher.runLocally((d) =>
        this.consumers.runHere(d.executor, d.requiresGpu, dispatchPayload(d)),
      );
    await this.heartbeat();
    const tick = async () => {
      if (this.stopped) return;
      try {
        this.probe = await this.probeGpus();
        this.applyHealth();
        await this.heartbeat();
        this.setDbReachable(true, null);
      } catch (err) {
        if (isOutageError(err)) this.setDbReachable(false, err);
        else this.services.log.warn({ err }, 'worker heartbeat failed');
      }
      if (!this.stopped) this.timer = setTimeout(() => void tick(), config.timings.heartbeatMs);
    };
    this.timer = setTimeout(() => void tick(), config.timings.heartbeatMs);
    this.services.log.info(
      { workerId: this.id, executors: this.executors, gpus: this.probe.gpus.length },
      'worker started',
    );
  }

  /**
   * A heartbeat that cannot reach Postgres makes the worker unhealthy (said once, not at
   * every heartbeat) and stops it taking jobs it could not start; the pool reconnects on
   * its own, and the first heartbeat that gets through makes it healthy again.
   */
  private setDbReachable(reachable: boolean, err: unknown): void {
    if (reachable === this.dbReachable) return;
    this.dbReachable = reachable;
    if (reachable) this.services.log.info({ workerId: this.id }, 'database reachable again: worker healthy');
    else
      this.services.log.warn(
        { workerId: this.id, err: String(err) },
        'database unreachable: worker unhealthy, not taking jobs until it is back',
      );
    this.applyHealth();
  }

  /**
   * A failed GPU health check or an unreachable database stops the worker taking jobs until
   * it passes again; an unhealthy remote executor stops its own queues only.
   */
  private applyHealth(): void {
    if (this.stopped) return;
    const ok = this.probe.healthy && this.dbReachable;
    if (!ok && !this.paused) {
      this.paused = true;
      if (!this.probe.healthy)
        this.services.log.warn({ workerId: this.id }, 'GPU health check failed: not taking jobs');
    } else if (ok && this.paused) {
      this.paused = false;
      this.services.log.info({ workerId: this.id }, 'worker healthy again: taking jobs');
    }
    this.consumers.reconcile((inv, gpu) => this.shouldRun(inv, gpu));
  }

  /** Per executor: its concurrency here and the jobs it runs here now. */
  private executorSlots(): Record<string, ExecutorSlots> {
    const slots: Record<string, ExecutorSlots> = {};
    for (const i of this.invokers)
      slots[i.name] = {
        concurrency: i.concurrency,
        activeJobs: 0,
        ...(i instanceof RemoteExecutor ? { remote: i.status } : {}),
      };
    for (const r of this.running.values()) if (slots[r.executor]) slots[r.executor].activeJobs += 1;
    return slots;
  }

  async heartbeat(): Promise<void> {
    await this.services.fleet.heartbeat({
      id: this.id,
      hostname: os.hostname(),
      executors: this.executors,
      gpusJson: JSON.stringify(this.gpus),
      concurrency: this.concurrency,
      activeJobs: this.activeJobs,
      healthy: this.probe.healthy,
      executorSlotsJson: JSON.stringify(this.executorSlots()),
    });
  }

  /**
   * Probe the GPUs now (one probe at a time, shared by the jobs that ask meanwhile) and
   * apply the answer; true when the GPU is healthy.
   */
  private checkGpuNow(): Promise<boolean> {
    this.gpuCheck ??= this.probeGpus()
      .then((probe) => {
        this.probe = probe;
        this.applyHealth();
        return this.hasGpu;
      })
      .finally(() => {
        this.gpuCheck = null;
      });
    return this.gpuCheck;
  }

  private async process(inv: ExecutorInvoker, p: DispatchPayload, gpu: boolean): Promise<void> {
    const { attempts, log } = this.services;
    // A GPU job is taken only with a GPU that passes its check now, not at the last
    // heartbeat: a GPU that started failing since would take (and fail) it.
    const remote = inv instanceof RemoteExecutor ? inv : null;
    const unfit = remote ? !this.shouldRun(remote, gpu) : gpu && !(await this.checkGpuNow());
    if (this.stopped || unfit) {
      // Fetched while stopping or unhealthy: give the dispatch back so another worker gets it at once.
      await attempts.releaseDispatch(p.jobId, p.tryNumber, p.dispatch);
      return;
    }
    const started = await attempts.startAttempt(p.jobId, p.tryNumber, p.dispatch, this.id);
    if (!started) return; // stale, duplicate or cancelled: nothing to do
    const ref: AttemptRef = {
      jobId: started.jobId,
      tryNumber: started.tryNumber,
      dispatch: started.dispatch,
      workerId: this.id,
    };
    const controller = new AbortController();
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    this.running.set(started.jobId, { executor: inv.name, ref, controller, done });
    const lease = setInterval(() => {
      attempts
        .renewLease(ref)
        .then((ok) => {
          if (!ok && !controller.signal.aborted) controller.abort(new Error('lease lost'));
        })
        .catch((err: unknown) => log.warn({ err }, 'lease renewal failed'));
    }, this.services.config.timings.heartbeatMs);
    const leave = () => {
      this.running.delete(started.jobId);
      release();
    };
    let committing: Promise<void> | null = null;
    try {
      if (started.isRerun) await this.contexts?.clearTaskState?.(this.services, started);
      if (await fromCache(this.services, inv, started, ref, controller.signal)) return;
      const output = await this.invoke(inv, started, ref, controller.signal);
      if (output === NOTHING_TO_COMPLETE) return;
      // The handler is done: its slot goes back to the queue now, and the completion
      // commits behind it (its lease renewed until then; `stop` waits for it). At most as
      // many of an executor's completions wait for a commit as it runs jobs at once: past
      // that, the slot waits.
      const commit = this.report(ref, output).finally(() => clearInterval(lease));
      committing = commit;
      leave();
      const waiting = this.reporting.get(inv.name) ?? this.reporting.set(inv.name, new Set()).get(inv.name)!;
      if (waiting.size >= inv.concurrency) return await commit;
      waiting.add(commit);
      void commit.finally(() => waiting.delete(commit));
    } catch (err) {
      log.error({ err, jobId: started.jobId }, 'worker failed to run or report a job');
    } finally {
      if (!committing) {
        clearInterval(lease);
        leave();
      }
    }
  }

  /** Run the handler; a failure is reported (`failAttempt`) and ends the call with NOTHING_TO_COMPLETE. */
  private async invoke(
    inv: ExecutorInvoker,
    started: StartedAttempt,
    ref: AttemptRef,
    signal: AbortSignal,
  ): Promise<unknown> {
    const { attempts } = this.services;
    const ctx = callContext(this.services, this.contexts, started, ref, signal, this.options.apiUrl?.());
    let output: unknown;
    try {
      output = await inv.invoke(started.data, ctx);
    } catch (err) {
      if (signal.aborted && this.stopped) return NOTHING_TO_COMPLETE; // handed back in stop()
      const message = err instanceof Error ? err.message : String(err);
      if (isNotStarted(err)) await attempts.requeueAttempt(ref, 'HANDED_BACK', message);
      else await attempts.failAttempt(ref, message || 'failed', { nonRetryable: isNonRetryable(err) });
      return NOTHING_TO_COMPLETE;
    }
    return signal.aborted && this.stopped ? NOTHING_TO_COMPLETE : output;
  }

  /** The handler's output, committed; errors are logged here (the lease sweep recovers the job). */
  private async report(ref: AttemptRef, output: unknown): Promise<void> {
    const { attempts, log } = this.services;
    try {
      await attempts.completeAttempt(ref, output);
    } catch (err) {
      // A data exception (SQLSTATE class 22, e.g. a NUL character jsonb refuses): the same
      // output would be refused on every rerun, so the attempt fails, not retried.
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('22')) {
        log.error({ err, jobId: ref.jobId }, 'worker failed to report a job');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      await attempts
        .failAttempt(ref, `output could not be stored: ${message}`, { nonRetryable: true })
        .catch((e: unknown) => log.error({ err: e, jobId: ref.jobId }, 'worker failed to report a job'));
    }
  }

  /** Stop taking jobs, let running ones finish for `graceMs`, hand back the rest, leave `workers`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopLocalRuns?.();
    if (this.timer) clearTimeout(this.timer);
    await this.consumers.pauseAll();
    const pending = [...this.running.values()];
    if (pending.length) {
      await Promise.race([Promise.all(pending.map((r) => r.done)), new Promise((r) => setTimeout(r, graceMs))]);
    }
    // Finished handlers' completions still committing: reported before the worker leaves.
    await Promise.allSettled([...this.reporting.values()].flatMap((s) => [...s]));
    for (const r of this.running.values()) {
      r.controller.abort(new Error('worker stopping'));
      const ok = await this.services.attempts.requeueAttempt(r.ref, 'HANDED_BACK').catch((err: unknown) => {
        this.services.log.warn({ err, jobId: r.ref.jobId }, 'could not hand back a job; its lease will expire instead');
        return false;
      });
      this.services.log.info({ jobId: r.ref.jobId, handedBack: ok }, 'handed back a running job');
    }
    await this.consumers.closeAll();
    await this.unsubscribeCancel?.();
    await this.unsubscribeStatus?.();
    await Promise.all(this.invokers.map(async (i) => i.close?.().catch(() => undefined)));
    await this.services.fleet.leave(this.id).catch(() => undefined);
  }
}
