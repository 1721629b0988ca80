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
 * queue: only into slots BullMQ's worker does not hold, BullMQ fetching fewer jobs while
 * some run beside it, so the executor's concurrency holds and no job waits in a worker
 * that cannot run it.
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

it('BullMQ fetches fewer jobs while jobs run beside the queue: the concurrency holds across both', async () => {
  const s = await setUp(3);
  // Once BullMQ's loop runs (its fetch in flight holds a slot): two run beside it, not three.
  await waitFor(async () => s.here('d1'), 5_000, "BullMQ's loop to run");
  expect(s.here('d2')).toBe(true);
  expect(s.here('d3')).toBe(false);
  for (const id of ['q1', 'q2', 'q3']) await s.add(id);
  // BullMQ's worker takes one job (its concurrency down to 1) and runs it at once.
  await waitFor(async () => s.started.length === 3, 5_000, 'a queued job to start');
  await new Promise((r) => setTimeout(r, 300));
  expect(s.started).toEqual(['d1', 'd2', 'q1']);
  expect(await s.queue.getActiveCount()).toBe(1);
  expect(await s.queue.getWaitingCount()).toBe(2);
  // The runs beside the queue end: BullMQ fetches up to the executor's concurrency again
  // at once, while the job it runs still runs (it is woken, not left until that job ends).
  s.finish('d1');
  s.finish('d2');
  await waitFor(async () => s.started.length === 5, 5_000, 'the other two queued jobs to start');
  expect(s.started.slice(3).sort()).toEqual(['q2', 'q3']);
});

it("an executor of concurrency 1 takes every job from its queue: its one slot stays the queue's", async () => {
  const s = await setUp(1);
  await new Promise((r) => setTimeout(r, 300));
  expect(s.here('d1')).toBe(false);
  await s.add('q1');
  await waitFor(async () => s.started.length === 1, 5_000, 'the queued job to start');
  expect(s.here('d2')).toBe(false);
  expect(s.started).toEqual(['q1']);
});

it(
  'a consumer paused while idle (its loop ended) runs again when its executor is fit again',
  { timeout: 60_000 },
  async () => {
    const s = await setUp(2);
    await waitFor(async () => s.here('warm') || null, 5_000, "BullMQ's loop to run");
    s.finish('warm');
    let fit = false;
    s.consumers.reconcile(() => fit);
    // Paused with nothing running: BullMQ's loop ends.
    const worker = (s.consumers as unknown as { list: Array<{ worker: { isRunning(): boolean } }> }).list[0].worker;
    // (once its blocking fetch times out: BullMQ's drainDelay, 5 s)
    await waitFor(async () => !worker.isRunning(), 20_000, "BullMQ's loop to end");
    await s.add('q1');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.started).toEqual(['warm']);
    fit = true;
    s.consumers.reconcile(() => fit);
    await waitFor(async () => s.started.includes('q1'), 5_000, 'the queued job to start after the resume');
  },
);
