import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDag } from './support/dag-helpers';
import { collect, until, waitSubscribed } from './support/event-helpers';
import { killGroup, launch, logLine, ROOT, type Spawned } from './support/spawned';
import {
  ok,
  startTestApp,
  TEST_ATTEMPT_TOKEN_SECRET,
  TEST_TIMINGS,
  testConfig,
  type TestApp,
} from './support/test-app';

/**
 * Issue 18: eight worker processes complete the 2,000 parents of one fan-in at once. The
 * group commits of eight processes count the sink's dependencies down concurrently; the
 * sink must be claimed and run once, and every DAG event a subscriber sees must carry the
 * progress that was true at its position in the log.
 */
const WORKERS = 8;
const PARENTS = 2_000;

let t: TestApp;
const workers: Spawned[] = [];

beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler'] });
  const cfg = testConfig();
  for (let i = 0; i < WORKERS; i++) {
    workers.push(
      launch(process.execPath, [path.join(ROOT, 'dist/src/main.js'), '--role', 'worker'], {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        DATABASE_URL: cfg.databaseUrl,
        REDIS_URL: cfg.redisUrl,
        QUEUE_PREFIX: cfg.queuePrefix,
        ATTEMPT_TOKEN_SECRET: TEST_ATTEMPT_TOKEN_SECRET,
        WORKER_ID: `fan-in-${i}`,
        NOOP_CONCURRENCY: '16',
        // Eight processes on one server: each keeps its pool small (sampled below).
        DB_POOL_SIZE: '3',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        ...TEST_TIMINGS,
      }),
    );
  }
  await Promise.all(workers.map((w) => logLine(w, 'worker started', 90_000)));
}, 120_000);

afterAll(async () => {
  for (const w of workers) killGroup(w);
  await t?.stop();
});

interface DagEv {
  cursor: string;
  state: string;
  progress: { total: number; pending: number; active: number; completed: number; failed: number };
}
interface JobEv {
  cursor: string;
  taskId: string;
  state: string;
}

describe('a 2,000-job fan-in completed by eight worker processes', () => {
  it('runs the sink once, and every DAG event carries the progress true at its place in the log', async () => {
    const { key, tenantId } = await t.tenant('submitter');
    const id = `fan-in-${randomUUID()}`;
    const client = t.ws(key);
    const dagEvents = collect<DagEv>(
      client,
      `subscription ($d: ID) { dagStatusChanged(dagId: $d) {
        cursor state progress { total pending active completed failed } } }`,
      { d: id },
    );
    const jobEvents = collect<JobEv>(
      client,
      `subscription ($d: ID!) { jobStatusChanged(dagId: $d) { cursor taskId state } }`,
      { d: id },
    );
    await waitSubscribed(t, tenantId, 2);

    const parents = Array.from({ length: PARENTS }, (_, i) => ({
      id: `p${i}`,
      name: 'part',
      executor: 'noop',
      data: { sleepMs: 20 },
    }));
    const sink = { id: 'sink', name: 'sink', executor: 'noop', dependencies: parents.map((p) => p.id) };
    // Each worker's pool, sampled by its application_name (`marie worker <pid>`) all along.
    const peak = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rows: Array<{ app: string; n: number }> = await t.app.services.ds.query(
          `SELECT application_name AS app, count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND application_name LIKE 'marie worker %' GROUP BY 1`,
        );
        for (const r of rows) peak.set(r.app, Math.max(peak.get(r.app) ?? 0, r.n));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    ok(
      await t.gql(
        `mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id } }`,
        { input: { id, name: 'fan-in', jobs: [...parents, sink] } },
        key,
      ),
    );

    const done = await waitForDag(t, key, id, ['COMPLETED', 'FAILED'], 240_000);
    expect(done.state).toBe('COMPLETED');
    sampling = false;
    await sampler;
    expect(peak.size).toBe(WORKERS);
    expect(
      [...peak.values()].every((n) => n <= 3),
      JSON.stringify([...peak]),
    ).toBe(true);
    await until(dagEvents, (items) => items.some((e) => e.state === 'COMPLETED'), 'the DAG COMPLETED event', 30_000);
    await until(
      jobEvents,
      (items) => items.filter((e) => e.state === 'COMPLETED').length === PARENTS + 1,
      'every job COMPLETED event',
      30_000,
    );
    expect(dagEvents.errors).toEqual([]);
    expect(jobEvents.errors).toEqual([]);

    // The sink ran once: one attempt, one ACTIVE event, and only after every parent completed.
    const sinkAttempts: Array<{ n: number }> = await t.app.services.ds.query(
      `SELECT count(*)::int AS n FROM job_attempts a JOIN jobs j ON j.id = a.job_id
       WHERE j.tenant_id = $1 AND j.dag_id = $2 AND j.task_id = 'sink'`,
      [tenantId, id],
    );
    expect(sinkAttempts[0].n).toBe(1);
    const pos = (e: { cursor: string }) => BigInt(e.cursor);
    const sinkActive = jobEvents.items.filter((e) => e.taskId === 'sink' && e.state === 'ACTIVE');
    expect(sinkActive).toHaveLength(1);
    const lastParentDone = jobEvents.items
      .filter((e) => e.taskId !== 'sink' && e.state === 'COMPLETED')
      .reduce((m, e) => (pos(e) > m ? pos(e) : m), 0n);
    expect(pos(sinkActive[0]) > lastParentDone).toBe(true);

    // Every job completed once, and the completions came from all eight processes.
    const completedTasks = jobEvents.items.filter((e) => e.state === 'COMPLETED').map((e) => e.taskId);
    expect(new Set(completedTasks).size).toBe(PARENTS + 1);
    const byWorker: Array<{ worker_id: string }> = await t.app.services.ds.query(
      `SELECT DISTINCT a.worker_id FROM job_attempts a JOIN jobs j ON j.id = a.job_id
       WHERE j.tenant_id = $1 AND j.dag_id = $2 AND a.outcome = 'SUCCEEDED'`,
      [tenantId, id],
    );
    expect(byWorker.map((r) => r.worker_id).sort()).toEqual(workers.map((_, i) => `fan-in-${i}`).sort());

    // Walk both streams in log order: at each DAG event, its progress is what the job
    // events before it say.
    const merged = [
      ...dagEvents.items.map((e) => ({ at: pos(e), dag: e })),
      ...jobEvents.items.map((e) => ({ at: pos(e), job: e })),
    ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    expect(new Set(merged.map((m) => m.at)).size).toBe(merged.length);
    const state = new Map<string, string>();
    const checked: string[] = [];
    for (const m of merged) {
      if ('job' in m && m.job) state.set(m.job.taskId, m.job.state);
      if ('dag' in m && m.dag) {
        const count = (s: string) => [...state.values()].filter((v) => v === s).length;
        expect(m.dag.progress.total, `total at ${m.dag.state}`).toBe(PARENTS + 1);
        expect(m.dag.progress.completed, `completed at ${m.dag.state}`).toBe(count('COMPLETED'));
        expect(m.dag.progress.failed).toBe(0);
        checked.push(m.dag.state);
      }
    }
    expect(checked).toEqual(['CREATED', 'ACTIVE', 'COMPLETED']);
    expect(done.progress).toMatchObject({ total: PARENTS + 1, completed: PARENTS + 1, pending: 0, active: 0 });
  }, 300_000);
});
