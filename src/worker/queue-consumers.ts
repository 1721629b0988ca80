import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import type { GpuInfo } from '../core/bus-channels';
import type { ExecutorInvoker } from '../core/executor-call';
import { queueName, type DispatchPayload } from '../jobs/queues';
import { createRedis, type RedisClient } from '../lib/redis';

/** One BullMQ consumer: an executor's queue (or its GPU queue) on this worker. */
interface QueueConsumer {
  inv: ExecutorInvoker;
  gpu: boolean;
  worker: Worker<DispatchPayload>;
  /** Whether it takes jobs now (not paused). */
  running: boolean;
  /** Runs one dispatch (from the queue or handed over here). */
  process: (p: DispatchPayload) => Promise<void>;
  /** Dispatches run here without the queue (`runHere`), not yet done. */
  direct: number;
}

/**
 * The slots BullMQ's worker holds now: the jobs it processes (until BullMQ has moved them
 * on) and its fetch in flight, from its main loop's queue (BullMQ exposes no count of it).
 * null when it cannot be read: nothing runs beside the queue then.
 */
function bullSlotsInUse(worker: Worker<DispatchPayload>): number | null {
  const fifo = mainLoopQueue(worker);
  return fifo && typeof fifo.numTotal === 'function' ? fifo.numTotal() : null;
}

/**
 * Make BullMQ's worker look at its concurrency now: its main loop, waiting for one of its
 * jobs to end, takes an empty entry as a turn (as after a fetch that found nothing) and
 * fetches up to its concurrency again. Without it a slot given back stays idle until one
 * of its own jobs ends.
 */
function wakeBull(worker: Worker<DispatchPayload>): void {
  const fifo = mainLoopQueue(worker);
  if (fifo && typeof fifo.add === 'function') fifo.add(Promise.resolve(undefined));
}

const mainLoopQueue = (worker: Worker<DispatchPayload>) =>
  (worker as unknown as { mainLoopQueue?: { numTotal?: () => number; add?: (p: Promise<unknown>) => void } | null })
    .mainLoopQueue;

/** The GPUs of the host and of the healthy remotes, each once. */
export function mergeGpus(lists: GpuInfo[][]): GpuInfo[] {
  const seen = new Set<string>();
  return lists.flat().filter((g) => {
    const key = `${g.index}|${g.name}|${g.memoryTotalMiB}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/**
 * A worker's BullMQ consumers, each on a connection of its own, paused and resumed one by
 * one (an unhealthy remote executor stops its own queues only).
 */
export class QueueConsumers {
  private readonly list: QueueConsumer[] = [];
  private readonly connections: RedisClient[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly log: Logger,
    /** The BullMQ prefix of a queue (a hash tag per queue on a Redis Cluster). */
    private readonly prefixOf: (queue: string) => string,
  ) {}

  /** Consume `inv`'s queue (its GPU queue when `gpu`), taking jobs from the start when `running`. */
  open(inv: ExecutorInvoker, gpu: boolean, running: boolean, process: (p: DispatchPayload) => Promise<void>): void {
    const name = queueName(inv.name, gpu);
    const connection = createRedis(this.config.redis);
    connection.on('error', (err) => this.log.warn({ err: err.message }, 'worker redis'));
    this.connections.push(connection);
    const worker = new Worker<DispatchPayload>(name, (job) => process(job.data), {
      connection,
      prefix: this.prefixOf(name),
      concurrency: inv.concurrency,
      maxStalledCount: 0,
      autorun: running,
    });
    worker.on('error', (err) => this.log.warn({ err: err.message, queue: name }, 'bullmq worker error'));
    this.list.push({ inv, gpu, worker, running, process, direct: 0 });
  }

  /**
   * Run `p` here at once, beside the queue, when this worker consumes `executor`'s queue
   * (its GPU queue when `gpu`), takes jobs now and has a slot free that BullMQ's worker
   * does not hold; false otherwise (it goes through the queue). While jobs run beside the
   * queue, BullMQ's worker fetches that many fewer (it fetches only below its concurrency,
   * counting its fetch in flight), so the executor's concurrency holds across both ways
   * and no job BullMQ hands this worker waits for a slot here. BullMQ's concurrency cannot
   * go below one, so one slot stays the queue's: an executor of concurrency 1 (a GPU model,
   * whose jobs are long beside a step) takes every job from its queue.
   */
  runHere(executor: string, gpu: boolean, p: DispatchPayload): boolean {
    const c = this.list.find((x) => x.inv.name === executor && x.gpu === gpu);
    if (!c?.running || !c.worker.isRunning()) return false;
    const held = bullSlotsInUse(c.worker);
    if (held === null || Math.max(held, 1) + c.direct + 1 > c.inv.concurrency) return false;
    // BullMQ's worker fetches only into the slots not taken by runs beside the queue.
    const leaveTheRest = () => (c.worker.concurrency = c.inv.concurrency - c.direct);
    c.direct += 1;
    leaveTheRest();
    void c
      .process(p)
      .catch((err: unknown) => this.log.error({ err, jobId: p.jobId }, 'worker failed to run a job handed over'))
      .finally(() => {
        c.direct -= 1;
        leaveTheRest();
        wakeBull(c.worker);
      });
    return true;
  }

  /** Pause or run each consumer as `shouldRun` says now. */
  reconcile(shouldRun: (inv: ExecutorInvoker, gpu: boolean) => boolean): void {
    for (const c of this.list) {
      const want = shouldRun(c.inv, c.gpu);
      if (want === c.running) continue;
      c.running = want;
      if (!want) void c.worker.pause(true);
      // Paused (its loop still waiting on jobs, or ended): resume() unpauses it and runs the
      // loop again if it ended; run() alone returns at once while the pause flag stands.
      else if (c.worker.isRunning() || c.worker.isPaused()) void c.worker.resume();
      else c.worker.run().catch((err: unknown) => this.log.warn({ err }, 'bullmq worker run failed'));
    }
  }

  async pauseAll(): Promise<void> {
    await Promise.all(this.list.map((c) => c.worker.pause(true).catch(() => undefined)));
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.list.map((c) => c.worker.close(true).catch(() => undefined)));
    for (const c of this.connections) c.disconnect();
  }
}
