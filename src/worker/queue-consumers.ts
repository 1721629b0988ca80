import { Worker, type Job as BullJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import type { GpuInfo } from '../core/bus-channels';
import type { ExecutorInvoker } from '../core/executor-call';
import { queueName, type DispatchPayload } from '../jobs/queues';
import { createRedis } from '../lib/redis';

/** One BullMQ consumer: an executor's queue (or its GPU queue) on this worker. */
interface QueueConsumer {
  inv: ExecutorInvoker;
  gpu: boolean;
  worker: Worker<DispatchPayload>;
  /** Whether it takes jobs now (not paused). */
  running: boolean;
}

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
  private readonly connections: Redis[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly log: Logger,
  ) {}

  /** Consume `inv`'s queue (its GPU queue when `gpu`), taking jobs from the start when `running`. */
  open(
    inv: ExecutorInvoker,
    gpu: boolean,
    running: boolean,
    process: (job: BullJob<DispatchPayload>) => Promise<void>,
  ): void {
    const name = queueName(inv.name, gpu);
    const connection = createRedis(this.config.redisUrl);
    connection.on('error', (err) => this.log.warn({ err: err.message }, 'worker redis'));
    this.connections.push(connection);
    const worker = new Worker<DispatchPayload>(name, process, {
      connection,
      prefix: this.config.queuePrefix,
      concurrency: inv.concurrency,
      maxStalledCount: 0,
      autorun: running,
    });
    worker.on('error', (err) => this.log.warn({ err: err.message, queue: name }, 'bullmq worker error'));
    this.list.push({ inv, gpu, worker, running });
  }

  /** Pause or run each consumer as `shouldRun` says now. */
  reconcile(shouldRun: (inv: ExecutorInvoker, gpu: boolean) => boolean): void {
    for (const c of this.list) {
      const want = shouldRun(c.inv, c.gpu);
      if (want === c.running) continue;
      c.running = want;
      if (!want) void c.worker.pause(true);
      else if (c.worker.isRunning()) void c.worker.resume();
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
