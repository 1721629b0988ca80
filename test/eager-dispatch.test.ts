import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import type { ExecutorInvoker } from '../src/core/executor-call';
import { queueName } from '../src/jobs/queues';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Eager dispatch (issue 18, the step latency): a ready job claimed in a process whose
 * worker consumes its queue with a slot free runs there at once, without a BullMQ add and
 * pick-up; the executor's concurrency holds across the jobs run that way and those the
 * queue hands out; a job handed over that never starts is dispatched again.
 */

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
});

/** An executor that notes each call's job id and how many of its calls run at once. */
function countingExecutor(concurrency: number, ms: number) {
  const jobIds = new Map<string, string>();
  const live = { now: 0, max: 0 };
  const inv: ExecutorInvoker = {
    name: `eager-${randomUUID().slice(0, 8)}`,
    concurrency,
    async invoke(_data, ctx) {
      jobIds.set(ctx.taskId, ctx.jobId);
      live.now += 1;
      live.max = Math.max(live.max, live.now);
      await new Promise((r) => setTimeout(r, ms));
      live.now -= 1;
      return { ok: ctx.taskId };
    },
  };
  return { inv, jobIds, live };
}

/** The BullMQ job ids (`<job>.<try>.<dispatch>`) the queue of `executor` was given (its `added` events). */
async function addedBullIds(t: TestApp, executor: string): Promise<string[]> {
  const name = queueName(executor, false);
  const { queues, redis } = t.app.services;
  const entries = (await redis.xrange(`${queues.prefixOf(name)}:${name}:events`, '-', '+')) as Array<
    [string, string[]]
  >;
  return entries.flatMap(([, fields]) => {
    const f = Object.fromEntries(fields.flatMap((v, i) => (i % 2 ? [] : [[v, fields[i + 1]]])));
    return f.event === 'added' ? [String(f.jobId)] : [];
  });
}

/** The jobs (ids) the queue of `executor` was given. */
async function addedToQueue(t: TestApp, executor: string): Promise<Set<string>> {
  return new Set((await addedBullIds(t, executor)).map((id) => id.split('.')[0]));
}

async function runChain(eager: boolean, concurrency = 4) {
  const ex = countingExecutor(concurrency, 5);
  const t = await startTestApp({
    roles: ['api', 'scheduler', 'worker'],
    env: { EAGER_DISPATCH: String(eager) },
    executors: [ex.inv],
  });
  apps.push(t);
  const { key } = await t.tenant('submitter');
  const id = `chain-${randomUUID()}`;
  const tasks = ['a', 'b', 'c', 'd', 'e'];
  await submitDag(t, key, {
    id,
    name: 'chain',
    jobs: tasks.map((j, i) => ({ id: j, name: j, executor: ex.inv.name, dependencies: i ? [tasks[i - 1]] : [] })),
  });
  const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 20_000);
  expect(d.state).toBe('COMPLETED');
  expect(d.jobs.every((j) => j.attempts.length === 1)).toBe(true);
  const added = await addedToQueue(t, ex.inv.name);
  // The dependents (the root may be claimed by the api's submit or the scheduler's pass).
  const dependents = tasks.slice(1).map((task) => ex.jobIds.get(task)!);
  expect(dependents.every(Boolean)).toBe(true);
  return dependents.filter((jobId) => added.has(jobId)).length;
}

it('a worker with a slot free runs the dependent its completion claimed itself: no BullMQ add for it', async () => {
  expect(await runChain(true)).toBe(0);
  // The same chain with EAGER_DISPATCH=false: every dependent went through its queue
  // (what the count above would read without eager dispatch).
  expect(await runChain(false)).toBe(4);
  // An executor of concurrency 1 (a GPU model, say) keeps its one slot for its queue: no
  // job waits in a worker busy with another while an idle one could take it.
  expect(await runChain(true, 1)).toBe(4);
});

it("the executor's concurrency holds across jobs run at once and jobs the queue hands out", async () => {
  const ex = countingExecutor(3, 60);
  const t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [ex.inv] });
  apps.push(t);
  const { key } = await t.tenant('submitter');
  const fan = Array.from({ length: 12 }, (_, i) => `f${i}`);
  const ids = [`fan-${randomUUID()}`, `fan-${randomUUID()}`];
  for (const id of ids)
    await submitDag(t, key, {
      id,
      name: 'fan-out',
      jobs: [
        { id: 'root', name: 'root', executor: ex.inv.name },
        ...fan.map((f) => ({ id: f, name: f, executor: ex.inv.name, dependencies: ['root'] })),
      ],
    });
  for (const id of ids) expect((await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 30_000)).state).toBe('COMPLETED');
  const added = await addedToQueue(t, ex.inv.name);
  // Some ran at once, the rest through the queue: both ways were in use together...
  expect(added.size).toBeGreaterThan(0);
  expect(added.size).toBeLessThan(ids.length * (fan.length + 1));
  // ...and never more than 3 calls at once (BullMQ's worker fetches fewer while jobs run beside it).
  expect(ex.live.max).toBe(3);
});

it('a job handed over that never starts is dispatched again through its queue, and runs once', async () => {
  const ex = countingExecutor(4, 5);
  const t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [ex.inv] });
  apps.push(t);
  // The first start of a dependent fails, as a process that dies between the hand-over
  // and the start would leave it: claimed, not started, in no queue.
  const attempts = t.app.services.attempts;
  const start = attempts.startAttempt.bind(attempts);
  let failed: string | null = null;
  attempts.startAttempt = async (jobId, ...rest) => {
    if (failed === null && ex.jobIds.size === 1) {
      failed = jobId;
      throw new Error('the process died here');
    }
    return start(jobId, ...rest);
  };
  const { key } = await t.tenant('submitter');
  const id = `lost-${randomUUID()}`;
  await submitDag(t, key, {
    id,
    name: 'lost',
    jobs: [
      { id: 'a', name: 'a', executor: ex.inv.name },
      { id: 'b', name: 'b', executor: ex.inv.name, dependencies: ['a'] },
    ],
  });
  const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 20_000);
  expect(d.state).toBe('COMPLETED');
  expect(failed).toBe(ex.jobIds.get('b'));
  expect(d.jobs.map((j) => [j.taskId, j.attempts.length])).toEqual([
    ['a', 1],
    ['b', 1],
  ]);
  // Its first dispatch was handed over, never added; the stale-dispatch sweep found no
  // BullMQ job for it and enqueued the next dispatch.
  const added = (await addedBullIds(t, ex.inv.name)).filter((bullId) => bullId.startsWith(`${failed}.`));
  expect(added).toEqual([`${failed}.1.2`]);
});

it('the slots free here go to the claimed jobs the queue would hand out first: higher priority first', async () => {
  const order: string[] = [];
  const jobIds = new Map<string, string>();
  const jobIdOf = (task: string) => jobIds.get(task)!;
  const inv: ExecutorInvoker = {
    name: `eager-${randomUUID().slice(0, 8)}`,
    concurrency: 2,
    async invoke(_data, ctx) {
      order.push(ctx.taskId);
      jobIds.set(ctx.taskId, ctx.jobId);
      await new Promise((r) => setTimeout(r, 50));
      return null;
    },
  };
  const t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [inv] });
  apps.push(t);
  const { key } = await t.tenant('submitter');
  const id = `prio-${randomUUID()}`;
  const prios = [0, 1000, 10, 500, 250];
  await submitDag(t, key, {
    id,
    name: 'prio',
    jobs: prios.map((p) => ({ id: `p${p}`, name: 'p', executor: inv.name, priority: p })),
  });
  expect((await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 20_000)).state).toBe('COMPLETED');
  // The one run at once (the other slot stays the queue's) is the highest; the queue hands
  // out the rest by priority.
  expect(order).toEqual([...prios].sort((a, b) => b - a).map((p) => `p${p}`));
  expect((await addedToQueue(t, inv.name)).has(jobIdOf('p1000'))).toBe(false);
  expect((await addedToQueue(t, inv.name)).size).toBe(4);
});

it('a stopping worker takes no job its last completions claim: they go to their queue', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const ran: string[] = [];
  const inv: ExecutorInvoker = {
    name: `eager-${randomUUID().slice(0, 8)}`,
    concurrency: 4,
    async invoke(_data, ctx) {
      ran.push(ctx.taskId);
      if (ctx.taskId === 'a') await held;
      return null;
    },
  };
  const t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [inv] });
  apps.push(t);
  const { key } = await t.tenant('submitter');
  const id = `stopping-${randomUUID()}`;
  await submitDag(t, key, {
    id,
    name: 'stopping',
    jobs: [
      { id: 'a', name: 'a', executor: inv.name },
      { id: 'b', name: 'b', executor: inv.name, dependencies: ['a'] },
    ],
  });
  await waitFor(async () => ran.includes('a'), 10_000, 'a to run');
  // The worker stops while `a` runs; `a` ends within its grace and claims `b`.
  const stopping = t.app.worker!.stop(5_000);
  release();
  await stopping;
  await waitFor(async () => (await addedBullIds(t, inv.name)).length === 1, 10_000, 'b added to its queue');
  expect(ran).toEqual(['a']);
});
