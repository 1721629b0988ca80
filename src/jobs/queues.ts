import { Queue } from 'bullmq';
import { slotPrefix, type RedisClient } from '../lib/redis';

/** What a BullMQ job carries: references only; the job's data stays in Postgres. */
export interface DispatchPayload {
  jobId: string;
  tenantId: string;
  tryNumber: number;
  dispatch: number;
}

/** One queue per executor; GPU jobs on that executor's own GPU queue. No colons (BullMQ ids). */
export const queueName = (executor: string, gpu: boolean): string => `exec.${executor}${gpu ? '.gpu' : ''}`;

/** `<job uuid>.<try>.<dispatch>`: each dispatch is enqueued once. */
export const bullJobId = (p: Pick<DispatchPayload, 'jobId' | 'tryNumber' | 'dispatch'>): string =>
  `${p.jobId}.${p.tryNumber}.${p.dispatch}`;

/** BullMQ priority (lower runs first): higher job priority first, then lower level. */
export const bullPriority = (priority: number, level: number): number =>
  (1000 - priority) * 100 + Math.min(level, 99) + 1;

/**
 * The producer side: Queue objects by name, sharing one connection. On a Redis Cluster
 * each queue's keys share a hash tag of its own (BullMQ's scripts touch several keys of
 * one queue at once), so the queues spread over the masters.
 */
export class QueueRegistry {
  private readonly queues = new Map<string, Queue<DispatchPayload>>();

  constructor(
    private readonly connection: RedisClient,
    readonly prefix: string,
  ) {}

  /** The BullMQ prefix of a queue, for its producer and its workers alike. */
  prefixOf(name: string): string {
    return slotPrefix(this.connection, this.prefix, name);
  }

  /** Whether the shared connection is up: nothing is claimed for Redis while it is not. */
  get ready(): boolean {
    return this.connection.status === 'ready';
  }

  get(name: string): Queue<DispatchPayload> {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue<DispatchPayload>(name, { connection: this.connection, prefix: this.prefixOf(name) });
      // Connection errors are the shared connection's, logged where it is made; without a
      // listener BullMQ would print each one to stderr.
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
