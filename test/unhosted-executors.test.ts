import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueName } from '../src/jobs/queues';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { ok, startTestApp, type TestApp } from './support/test-app';

interface LogLine {
  level: number;
  msg: string;
  dagId?: string;
  jobsByExecutor?: Record<string, number>;
}

let t: TestApp;
let key: string;
const lines: LogLine[] = [];
const suffix = randomUUID().slice(0, 8);
const NOBODY = `nobody-${suffix}`;

beforeAll(async () => {
  // The server's own logger, writing into `lines` (warn and above).
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], log });
  ({ key } = await t.tenant('submitter'));
});
afterAll(async () => {
  await t?.stop();
});

const QUEUES = `{ queues { executor waiting workers } }`;
const queues = async () =>
  ok(await t.gql<{ queues: Array<{ executor: string; waiting: number; workers: number }> }>(QUEUES, {}, key)).queues;
/** BullMQ entries of a queue that wait to be taken. */
const queued = async (executor: string) => {
  const c = await t.app.services.queues.get(queueName(executor, false)).getJobCounts('waiting', 'prioritized');
  return c.waiting + c.prioritized;
};

describe('executors nobody hosts', () => {
  it('submitDag succeeds, warns once for the jobs no live worker can run, and QueueStats.workers says 0', async () => {
    const id = `unhosted-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'unhosted',
      jobs: [
        { id: 'a', name: 'a', executor: NOBODY },
        { id: 'b', name: 'b', executor: NOBODY },
        { id: 'c', name: 'c', executor: NOBODY },
        { id: 'n', name: 'n', executor: 'noop' },
        // This worker has no GPU: a GPU job for noop cannot run either.
        { id: 'g', name: 'g', executor: 'noop', requiresGpu: true },
      ],
    });
    const hosted = `hosted-${randomUUID()}`;
    await submitDag(t, key, { id: hosted, name: 'hosted', jobs: [{ id: 'n', name: 'n', executor: 'noop' }] });
    await t.app.services.jobCommands.settled();

    const warnings = lines.filter((l) => l.level === 40 && (l.dagId === id || l.dagId === hosted));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ dagId: id, jobsByExecutor: { [NOBODY]: 3, 'noop (GPU)': 1 } });
    expect(warnings[0].msg).toContain(NOBODY);

    const stats = await queues();
    expect(stats.find((q) => q.executor === NOBODY)).toEqual({ executor: NOBODY, waiting: 3, workers: 0 });
    expect(stats.find((q) => q.executor === 'noop')?.workers).toBe(1);
    expect((await waitForDag(t, key, hosted, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');
  });

  it('cancelDag and cancelJob remove the cancelled jobs from their BullMQ queues', async () => {
    const exec = `${NOBODY}-cancel`;
    const dagId = `cancel-${randomUUID()}`;
    await submitDag(t, key, {
      id: dagId,
      name: 'cancel',
      jobs: [
        { id: 'a', name: 'a', executor: exec },
        { id: 'b', name: 'b', executor: exec },
      ],
    });
    const other = `cancel-job-${randomUUID()}`;
    await submitDag(t, key, {
      id: other,
      name: 'cancel-job',
      jobs: [
        { id: 'x', name: 'x', executor: exec },
        { id: 'y', name: 'y', executor: exec },
      ],
    });
    await waitFor(async () => (await queued(exec)) === 4, 10_000, 'four queued entries');

    ok(await t.gql(`mutation ($id: ID!) { cancelDag(id: $id) { id } }`, { id: dagId }, key));
    await t.app.services.jobCommands.settled();
    expect(await queued(exec)).toBe(2);

    ok(
      await t.gql(
        `mutation ($d: ID!, $t: String!) { cancelJob(dagId: $d, taskId: $t) { state } }`,
        { d: other, t: 'x' },
        key,
      ),
    );
    await t.app.services.jobCommands.settled();
    expect(await queued(exec)).toBe(1);
    ok(await t.gql(`mutation ($id: ID!) { cancelDag(id: $id) { id } }`, { id: other }, key));
    await t.app.services.jobCommands.settled();
    expect(await queued(exec)).toBe(0);
  });

  it('`workers` and QueueStats.workers do not count a worker whose heartbeats stopped as healthy', async () => {
    const exec = `${NOBODY}-ghost`;
    const [fresh, silent] = [`fresh-${suffix}`, `silent-${suffix}`];
    const { ds } = t.app.services;
    // Both said healthy; the silent one's last heartbeat is older than three heartbeats and a
    // second (1.9 s here) but still within WORKER_STALE_MS (3 s), so it is listed.
    await ds.query(
      `INSERT INTO workers (id, hostname, executors, gpus, concurrency, active_jobs, healthy, started_at, last_seen_at)
       VALUES ($1, 'h', $3, '[]', 1, 0, true, now(), now()), ($2, 'h', $3, '[]', 1, 0, true, now(), now() - interval '2.5 seconds')`,
      [fresh, silent, [exec]],
    );
    try {
      await submitDag(t, key, {
        id: `ghost-${randomUUID()}`,
        name: 'ghost',
        jobs: [{ id: 'a', name: 'a', executor: exec }],
      });
      const res = ok(
        await t.gql<{ workers: Array<{ id: string; healthy: boolean }> }>(`{ workers { id healthy } }`, {}, key),
      );
      expect(res.workers.filter((w) => w.id === fresh || w.id === silent)).toEqual([
        { id: fresh, healthy: true },
        { id: silent, healthy: false },
      ]);
      expect((await queues()).find((q) => q.executor === exec)?.workers).toBe(1);
    } finally {
      await ds.query(`DELETE FROM workers WHERE id = ANY($1::text[])`, [[fresh, silent]]);
    }
  });
});
