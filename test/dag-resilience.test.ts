import { deleteKeysByPrefix } from '../src/lib/redis';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signCallback } from '../src/services/callback.service';
import { dagSnapshot, jobOf, submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { ok, startTestApp, testConfig, type TestApp } from './support/test-app';
import type { LoggedEvent } from '../src/core/events';
import { plan } from '../src/services/openlineage/ol-emit-events';

const SECRET = 'test-callback-secret-0123456789';
const apps: TestApp[] = [];
const start = async (...args: Parameters<typeof startTestApp>) => {
  const a = await startTestApp(...args);
  apps.push(a);
  return a;
};
afterEach(async () => {
  while (apps.length) await apps.pop()!.stop();
});

const eventsOf = (
  t: TestApp,
  tenantId: string,
  dagId: string,
): Promise<Array<{ type: string; payload: Record<string, unknown> }>> =>
  t.app.services.ds.query(
    `SELECT type, payload FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 ORDER BY id, ord`,
    [tenantId, dagId],
  );

describe('SLAs', () => {
  it('a soft miss only emits its event; a job hard miss cancels the job; a DAG hard miss cancels the rest and fails the DAG', async () => {
    const t = await start({ roles: ['api', 'scheduler', 'worker'] });
    const { key, tenantId } = await t.tenant('submitter');
    const soon = (ms: number) => new Date(Date.now() + ms).toISOString();

    const soft = `soft-${randomUUID()}`;
    await submitDag(t, key, {
      id: soft,
      name: 'soft',
      softSla: soon(300),
      jobs: [{ id: 'a', name: 'a', executor: 'noop', data: { sleepMs: 900 } }],
    });
    const jobHard = `jobhard-${randomUUID()}`;
    await submitDag(t, key, {
      id: jobHard,
      name: 'job-hard',
      jobs: [
        { id: 'stuck', name: 'stuck', executor: 'noop', hardSla: soon(400), data: { hang: true } },
        { id: 'free', name: 'free', executor: 'noop', data: { sleepMs: 50 } },
      ],
    });
    const dagHard = `daghard-${randomUUID()}`;
    await submitDag(t, key, {
      id: dagHard,
      name: 'dag-hard',
      hardSla: soon(400),
      jobs: [
        { id: 'x', name: 'x', executor: 'noop', data: { hang: true } },
        { id: 'y', name: 'y', executor: 'noop', dependencies: ['x'] },
      ],
    });

    const s = await waitForDag(t, key, soft, ['COMPLETED', 'FAILED']);
    expect(s.state).toBe('COMPLETED');
    const softEvents = (await eventsOf(t, tenantId, soft)).filter((e) => e.type === 'SLA');
    expect(softEvents.map((e) => [e.payload.kind, e.payload.taskId])).toEqual([['SOFT_MISSED', null]]);
    const softSla = ok(
      await t.gql<{ dag: { slaStatus: string } }>(`query ($id: ID!) { dag(id: $id) { slaStatus } }`, { id: soft }, key),
    );
    expect(softSla.dag.slaStatus).toBe('SOFT_MISSED');

    const jh = await waitForDag(t, key, jobHard, ['COMPLETED', 'FAILED']);
    expect(jobOf(jh, 'stuck').state).toBe('CANCELLED');
    expect(jobOf(jh, 'free').state).toBe('COMPLETED');
    expect(
      (await eventsOf(t, tenantId, jobHard))
        .filter((e) => e.type === 'SLA')
        .map((e) => [e.payload.kind, e.payload.taskId]),
    ).toEqual([['HARD_MISSED', 'stuck']]);

    const dh = await waitForDag(t, key, dagHard, ['COMPLETED', 'FAILED', 'CANCELLED']);
    expect(dh.state).toBe('FAILED');
    expect(jobOf(dh, 'x').state).toBe('CANCELLED');
    expect(jobOf(dh, 'y').state).toBe('CANCELLED');
    // The hanging call was aborted on the worker.
    await waitFor(async () => t.app.worker!.activeJobs === 0, 5_000, 'hanging calls aborted');
    const hardEvents = (await eventsOf(t, tenantId, dagHard)).filter((e) => e.type === 'SLA');
    expect(hardEvents.map((e) => [e.payload.kind, e.payload.taskId])).toEqual([['HARD_MISSED', null]]);
  });
});

describe('callbacks', () => {
  it('POSTs the signed final state to a loopback server, also after failing its first two tries', async () => {
    const received: Array<{ body: string; sig: string | undefined; ts: string | undefined }> = [];
    let calls = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        calls += 1;
        if (calls <= 2) {
          res.statusCode = 500;
          res.end('not yet');
          return;
        }
        received.push({
          body,
          sig: req.headers['x-marie-signature'] as string,
          ts: req.headers['x-marie-timestamp'] as string,
        });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const t = await start({ roles: ['api', 'scheduler', 'worker'], env: { CALLBACK_SECRET: SECRET } });
      const { key } = await t.tenant('submitter');
      const id = `cb-${randomUUID()}`;
      await submitDag(t, key, {
        id,
        name: 'cb',
        callbackUrl: `http://127.0.0.1:${port}/hook`,
        jobs: [{ id: 'a', name: 'a', executor: 'noop' }],
      });
      await waitForDag(t, key, id, ['COMPLETED']);
      const cb = await waitFor(
        async () => {
          const d = ok(
            await t.gql<{ dag: { callback: { state: string; attempts: number } } }>(
              `query ($id: ID!) { dag(id: $id) { callback { url state attempts lastError deliveredAt } } }`,
              { id },
              key,
            ),
          );
          return d.dag.callback.state === 'DELIVERED' ? d.dag.callback : null;
        },
        15_000,
        'callback delivered',
      );
      expect(cb.attempts).toBe(3);
      expect(received).toHaveLength(1);
      const r = received[0];
      expect(JSON.parse(r.body)).toMatchObject({ dagId: id, state: 'COMPLETED', progress: { total: 1, completed: 1 } });
      expect(r.sig).toBe(signCallback(SECRET, r.ts!, r.body));
    } finally {
      server.close();
    }
  });
});

describe('concurrency and crashes', () => {
  it('runs the child of each of 200 diamonds exactly once when its two parents complete together', async () => {
    const t = await start({ roles: ['api', 'scheduler', 'worker'], env: { NOOP_CONCURRENCY: '40' } });
    const { key, tenantId } = await t.tenant('submitter');
    const id = `race-${randomUUID()}`;
    const jobs: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 200; i++) {
      jobs.push({ id: `r${i}`, name: 'root', executor: 'noop' });
      jobs.push({ id: `l${i}`, name: 'left', executor: 'noop', dependencies: [`r${i}`], data: { sleepMs: 5 } });
      jobs.push({ id: `p${i}`, name: 'right', executor: 'noop', dependencies: [`r${i}`], data: { sleepMs: 5 } });
      jobs.push({ id: `c${i}`, name: 'child', executor: 'noop', dependencies: [`l${i}`, `p${i}`] });
    }
    await submitDag(t, key, { id, name: 'race', jobs });
    await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 60_000);
    const rows: Array<{ task_id: string; attempts: number; actives: number }> = await t.app.services.ds.query(
      `SELECT j.task_id, (SELECT count(*)::int FROM job_attempts a WHERE a.job_id = j.id) AS attempts,
              (SELECT count(*)::int FROM event_log_events e WHERE e.tenant_id = j.tenant_id AND e.dag_id = j.dag_id AND e.type = 'JOB'
                 AND e.payload->>'taskId' = j.task_id AND e.payload->>'state' = 'ACTIVE') AS actives
       FROM jobs j WHERE j.tenant_id = $1 AND j.dag_id = $2 AND j.task_id LIKE 'c%'`,
      [tenantId, id],
    );
    expect(rows).toHaveLength(200);
    expect(rows.filter((r) => r.attempts !== 1 || r.actives !== 1)).toEqual([]);
    const d = await dagSnapshot(t, key, id);
    expect(d.state).toBe('COMPLETED');
    expect(d.progress.completed).toBe(800);
  }, 90_000);

  it('reruns the same try elsewhere after a worker is killed mid-job; the killed attempt cannot report late', async () => {
    const t = await start({ roles: ['api', 'scheduler'] });
    const { key, tenantId } = await t.tenant('submitter');
    const cfg = testConfig();
    const root = path.resolve(__dirname, '..');
    const child = spawn(process.execPath, [path.join(root, 'dist/src/main.js'), '--role', 'worker'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: cfg.databaseUrl,
        REDIS_URL: cfg.redisUrl,
        QUEUE_PREFIX: cfg.queuePrefix,
        WORKER_ID: 'doomed-worker',
        LEASE_MS: cfg.timings.leaseMs.toString(),
        HEARTBEAT_MS: cfg.timings.heartbeatMs.toString(),
        LOG_LEVEL: 'warn',
        NODE_ENV: 'test',
      },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.on('exit', r));
    try {
      const id = `crash-${randomUUID()}`;
      await submitDag(t, key, {
        id,
        name: 'crash',
        jobs: [
          { id: 'victim', name: 'victim', executor: 'noop', data: { sleepMs: 3000, output: 'done' } },
          { id: 'next', name: 'next', executor: 'noop', dependencies: ['victim'] },
        ],
      });
      const running = await waitFor(
        async () => {
          const r: Array<{ id: string; try_number: number; dispatch: number; lease_owner: string }> =
            await t.app.services.ds.query(
              `SELECT id, try_number, dispatch, lease_owner FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND task_id = 'victim' AND state = 'ACTIVE'`,
              [tenantId, id],
            );
          return r[0];
        },
        30_000,
        'victim ACTIVE on the doomed worker',
      );
      expect(running.lease_owner).toBe('doomed-worker');
      child.kill('SIGKILL');
      await exited;
      // Another worker comes up; after the lease runs out the same try runs there.
      const rescuer = await start({ roles: ['worker'], env: { WORKER_ID: 'rescuer' } });
      expect(rescuer.app.worker?.id).toBe('rescuer');
      const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 30_000);
      expect(d.state).toBe('COMPLETED');
      const victim = jobOf(d, 'victim');
      expect(victim.tryNumber).toBe(1);
      expect(victim.output).toBe('done');
      expect(victim.attempts.map((a) => [a.tryNumber, a.outcome, a.workerId])).toEqual([
        [1, 'LOST', 'doomed-worker'],
        [1, 'SUCCEEDED', 'rescuer'],
      ]);
      // The killed attempt's late report is refused and changes nothing.
      const late = await t.app.services.attempts.completeAttempt(
        { jobId: running.id, tryNumber: running.try_number, dispatch: running.dispatch, workerId: 'doomed-worker' },
        'late',
      );
      expect(late.accepted).toBe(false);
      const lateFail = await t.app.services.attempts.failAttempt(
        { jobId: running.id, tryNumber: running.try_number, dispatch: running.dispatch, workerId: 'doomed-worker' },
        'late failure',
      );
      expect(lateFail.accepted).toBe(false);
      expect(jobOf(await dagSnapshot(t, key, id), 'victim')).toMatchObject({ state: 'COMPLETED', output: 'done' });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);

  it('re-enqueues from Postgres what Redis lost, and the DAG completes', async () => {
    const t = await start({ roles: ['api', 'scheduler'] });
    const { key, tenantId } = await t.tenant('submitter');
    const id = `flush-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'flush',
      jobs: [
        { id: 'a', name: 'a', executor: 'noop' },
        { id: 'b', name: 'b', executor: 'noop' },
        { id: 'c', name: 'c', executor: 'noop', dependencies: ['a', 'b'] },
      ],
    });
    await waitFor(
      async () => {
        const r: Array<{ n: number }> = await t.app.services.ds.query(
          `SELECT count(*)::int AS n FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND dispatched_at IS NOT NULL`,
          [tenantId, id],
        );
        return r[0].n === 2;
      },
      10_000,
      'roots dispatched',
    );
    // Redis loses everything of this control plane (its prefix: other test runs share the server).
    const redis = new Redis(t.app.services.config.redisUrl);
    await deleteKeysByPrefix(redis, `${t.app.services.config.queuePrefix}:`);
    redis.disconnect();
    await start({ roles: ['worker'] });
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 30_000);
    expect(d.state).toBe('COMPLETED');
    for (const j of d.jobs) expect(j.attempts).toHaveLength(1);
  }, 60_000);
});

describe('graceful stop', () => {
  it('a stopping worker hands back what it cannot finish; the same try runs on another worker', async () => {
    const t = await start({ roles: ['api', 'scheduler'] });
    const { key } = await t.tenant('submitter');
    const leaving = await startTestApp({ roles: ['worker'], env: { WORKER_ID: 'leaving', WORKER_GRACE_MS: '100' } });
    const id = `handback-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'handback',
      jobs: [{ id: 'long', name: 'long', executor: 'noop', data: { sleepMs: 1500 } }],
    });
    await waitFor(async () => jobOf(await dagSnapshot(t, key, id), 'long').state === 'ACTIVE', 10_000, 'long ACTIVE');
    await leaving.stop();
    await start({ roles: ['worker'], env: { WORKER_ID: 'staying' } });
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 20_000);
    expect(d.state).toBe('COMPLETED');
    expect(jobOf(d, 'long').attempts.map((a) => [a.tryNumber, a.outcome, a.workerId])).toEqual([
      [1, 'HANDED_BACK', 'leaving'],
      [1, 'SUCCEEDED', 'staying'],
    ]);
    // The hand-back is no failed try: its JOB event says requeued, and OpenLineage out sends no FAIL for it.
    const rows: Array<{ position: string | null; tenant_id: string; payload: LoggedEvent['payload'] }> =
      await t.app.services.ds.query(
        `SELECT position::text AS position, tenant_id, payload FROM event_log_events
          WHERE dag_id = $1 AND type = 'JOB' ORDER BY id, ord`,
        [id],
      );
    const logged = rows.map(
      (r) =>
        ({
          position: String(r.position),
          tenantId: r.tenant_id,
          type: 'JOB',
          dagId: id,
          payload: r.payload,
          createdAt: new Date().toISOString(),
        }) as LoggedEvent,
    );
    expect(logged.map((e) => (e.type === 'JOB' ? [e.payload.state, e.payload.requeued ?? false] : null))).toEqual([
      ['ACTIVE', false],
      ['RETRY', true],
      ['ACTIVE', false],
      ['COMPLETED', false],
    ]);
    expect(logged.flatMap(plan).map((p) => `${p.eventType}#${p.attempt?.tryNumber}`)).toEqual([
      'START#1',
      'START#1',
      'COMPLETE#1',
    ]);
  }, 40_000);
});

describe('REST monitoring and queue counts', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('answers GET /api/jobs?dag_id=… with the same keys and policy, and counts queues from Postgres', async () => {
    const { key } = await t.tenant('submitter');
    const id = `rest-${randomUUID()}`;
    const later = new Date(Date.now() + 3_600_000).toISOString();
    await submitDag(t, key, {
      id,
      name: 'rest',
      jobs: [
        { id: 'a', name: 'ocr', executor: 'noop' },
        { id: 'b', name: 'classify', executor: 'noop', startAfter: later },
      ],
    });
    const base = t.url.replace('/graphql', '');
    const res = await fetch(`${base}/api/jobs?dag_id=${id}`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { dag_id: string; jobs: Array<{ task_id: string; state: string }> };
    expect(body.dag_id).toBe(id);
    expect(body.jobs.map((j) => j.task_id).sort()).toEqual(['a', 'b']);
    expect((await fetch(`${base}/api/jobs?dag_id=${id}`)).status).toBe(401);
    const other = await t.tenant('reader');
    expect(
      (await fetch(`${base}/api/jobs?dag_id=${id}`, { headers: { authorization: `Bearer ${other.key}` } })).status,
    ).toBe(404);
    const q = ok(
      await t.gql<{ queues: Array<Record<string, unknown>> }>(
        '{ queues { executor waiting active delayed failed completed } }',
        {},
        key,
      ),
    );
    expect(q.queues).toEqual([{ executor: 'noop', waiting: 1, active: 0, delayed: 1, failed: 0, completed: 0 }]);
  });
});
