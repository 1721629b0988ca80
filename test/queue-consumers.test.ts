import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterEach, expect, inject, it } from 'vitest';
import type { ExecutorInvoker } from '../src/core/executor-call';
import { queueName, type DispatchPayload } from '../src/jobs/queues';
import { createLogger } from '../src/lib/logger';
import { createRedis } from '../src/lib/redis';
import { QueueConsumers } from '../src/worker/queue-consumers';
import { waitFor } from './support/dag-helpers';
import { testConfig } from './support/test-app';

/**
 * A worker's consumers with jobs run beside the queue (eager dispatch), on a real BullMQ
 * queue: every run holds one of the executor's slots, a job from the queue waits for one,
 * and BullMQ's worker fetches fewer jobs while some run beside it.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp(concurrency: number) {
  const config = testConfig();
  const prefix = `${inject('queuePrefix')}-qc-${randomUUID().slice(0, 8)}`;
  const inv: ExecutorInvoker = { name: 'qc', concurrency, invoke: async () => null };
  const consumers = new QueueConsumers(config, createLogger('silent'), () => prefix);
  // Each call is held until the test lets it go.
  const running = new Map<string, () => void>();
  const started: string[] = [];
  consumers.open(inv, false, true, (p: DispatchPayload) => {
    started.push(p.jobId);
    return new Promise<void>((resolve) => running.set(p.jobId, resolve));
  });
  const connection = createRedis(config.redis);
  const queue = new Queue<DispatchPayload>(queueName(inv.name, false), { connection, prefix });
  cleanups.push(async () => {
    for (const done of running.values()) done();
    await consumers.closeAll();
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });
  const payload = (jobId: string): DispatchPayload => ({ jobId, tenantId: 't', tryNumber: 1, dispatch: 1 });
  const add = (jobId: string) => queue.add('run', payload(jobId), { jobId, removeOnComplete: true });
  const finish = (jobId: string) => {
    running.get(jobId)!();
    running.delete(jobId);
  };
  return {
    consumers,
    queue,
    started,
    payload,
    add,
    finish,
    here: (id: string) => consumers.runHere('qc', false, payload(id)),
  };
}

it('BullMQ fetches fewer jobs while jobs run beside the queue, and every run holds a slot', async () => {
  const s = await setUp(3);
  expect(s.here('d1')).toBe(true);
  expect(s.here('d2')).toBe(true);
  expect(s.here('d3')).toBe(true);
  // All three slots are taken: the next goes through the queue.
  expect(s.here('d4')).toBe(false);
  for (const id of ['q1', 'q2', 'q3']) await s.add(id);
  // BullMQ's worker takes one job (its concurrency down to 1), which waits for a slot.
  await waitFor(async () => (await s.queue.getActiveCount()) === 1, 5_000, 'one job active');
  await new Promise((r) => setTimeout(r, 300));
  expect(await s.queue.getActiveCount()).toBe(1);
  expect(await s.queue.getWaitingCount()).toBe(2);
  expect(s.started).toEqual(['d1', 'd2', 'd3']);
  // A slot given back goes to the job from the queue that waits for it, not to a hand-over.
  s.finish('d1');
  await waitFor(async () => s.started.length === 4, 5_000, 'the queued job to start');
  expect(s.here('d5')).toBe(false);
  expect(s.started).toEqual(['d1', 'd2', 'd3', 'q1']);
  // The runs beside the queue end: BullMQ fetches up to the executor's concurrency again.
  s.finish('d2');
  s.finish('d3');
  s.finish('q1');
  await waitFor(async () => s.started.length === 6, 5_000, 'the other two queued jobs to start');
  expect(s.started.slice(4).sort()).toEqual(['q2', 'q3']);
});

it('an executor of concurrency 1: a job run beside the queue holds its one slot; a queued job waits for it', async () => {
  const s = await setUp(1);
  expect(s.here('d1')).toBe(true);
  expect(s.here('d2')).toBe(false);
  await s.add('q1');
  await waitFor(async () => (await s.queue.getActiveCount()) === 1, 5_000, 'the queued job fetched');
  await new Promise((r) => setTimeout(r, 300));
  expect(s.started).toEqual(['d1']);
  s.finish('d1');
  await waitFor(async () => s.started.length === 2, 5_000, 'the queued job to start');
  expect(s.started).toEqual(['d1', 'q1']);
});
