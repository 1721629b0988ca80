import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateClaimsPdf, SAMPLE_DOCUMENT } from '../../examples/document-pipeline/generate-document';
import { DAG_STATE, seedPipeline, SUBMIT, waitFor, type DagSnapshot } from '../support/dag-helpers';
import { documentPipelineDag } from '../support/document-pipeline';
import { collect, until } from '../support/event-helpers';
import type { Spawned } from '../support/spawned';
import { ok } from '../support/test-app';
import {
  buildNetwork,
  checkPrerequisites,
  HOSTS,
  leftovers,
  releaseLock,
  sh,
  takeLock,
  teardownNetwork,
  WORK_DIR,
  type HostName,
} from './netns';
import { ApiClient, killHard, started, startRole, type RoleName, type RoleProcess } from './roles';
import { pgBin, startPostgres, startRedis, stopPostgres, STORES } from './stores';

/**
 * Roles apart (issue 18): PostgreSQL and Redis on one host, two api, two worker and two
 * scheduler processes on hosts of their own (Linux network namespaces on one bridge), the
 * test in the root namespace talking to the api processes over the bridge.
 */

const LAYOUT: Array<[HostName, RoleName]> = [
  ['api1', 'api'],
  ['api2', 'api'],
  ['sched1', 'scheduler'],
  ['sched2', 'scheduler'],
  ['worker1', 'worker'],
  ['worker2', 'worker'],
];
const procs = new Map<HostName, RoleProcess>();
let redis: Spawned | undefined;
let api1: ApiClient;
let api2: ApiClient;
let db: Client;
let pdfUri: string;
/** Whether this run holds the harness (else it leaves alone what another live run built). */
let owner = false;

/** What each process said, when a test fails (the folder holding the stores' logs is removed). */
function dumpOutputs(): void {
  for (const p of procs.values()) {
    const tail = p.output().split('\n').slice(-40).join('\n');
    process.stderr.write(`\n----- ${p.name} (${p.role}, ${p.host.addr}) -----\n${tail}\n`);
  }
}

beforeAll(async () => {
  await checkPrerequisites(pgBin() ? [] : ['PostgreSQL binaries (initdb, pg_ctl)']);
  await takeLock();
  owner = true;
  // What a killed run left, found by name: its PostgreSQL stopped properly (so it frees its
  // shared memory), then every process in the namespaces, the namespaces, links and folder.
  await stopPostgres();
  await teardownNetwork();
  await buildNetwork();
  await startPostgres();
  redis = await startRedis();
  // The first api migrates the empty database alone; the others then start together.
  const first = await startRole('api1', 'api');
  procs.set('api1', first);
  await started(first);
  const rest = await Promise.all(LAYOUT.slice(1).map(([name, role]) => startRole(name, role)));
  for (const p of rest) procs.set(p.name, p);
  await Promise.all(rest.map((p) => started(p)));
  api1 = new ApiClient(HOSTS.api1);
  api2 = new ApiClient(HOSTS.api2);
  await Promise.all([api1.ready(), api2.ready()]);
  db = new Client({ connectionString: STORES.databaseUrl });
  await db.connect();
  await waitFor(
    async () => {
      const { workers } = ok(await api2.gql<{ workers: Array<{ id: string }> }>('{ workers { id } }'));
      return ['worker1', 'worker2'].every((id) => workers.some((w) => w.id === id));
    },
    30_000,
    'both workers in `workers`',
  );
  await mkdir(path.join(WORK_DIR, 'inbox'), { recursive: true });
  const pdf = path.join(WORK_DIR, 'inbox', 'claim-1.pdf');
  await writeFile(pdf, await generateClaimsPdf());
  pdfUri = pathToFileURL(pdf).href;
}, 240_000);

afterAll(async () => {
  if (!owner) return;
  try {
    await Promise.allSettled([api1?.close(), api2?.close(), db?.end()]);
    await Promise.all([...procs.values()].map((p) => killHard(p)));
    if (redis) {
      redis.child.kill('SIGKILL');
      await redis.exited;
    }
    await stopPostgres();
    await teardownNetwork();
    expect(await leftovers()).toEqual([]);
  } finally {
    await releaseLock();
  }
}, 60_000);

beforeEach(({ onTestFailed }) => onTestFailed(dumpOutputs));

const submit = async (api: ApiClient, input: Record<string, unknown>) =>
  ok(await api.gql<{ submitDag: { id: string } }>(SUBMIT, { input })).submitDag.id;
const snapshot = async (api: ApiClient, id: string) => ok(await api.gql<{ dag: DagSnapshot }>(DAG_STATE, { id })).dag;
const rows = async <T>(sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows as T[];

interface Ev {
  cursor: string;
  state: string;
  dagId?: string;
  taskId?: string;
}
const DAGS_SUB = `subscription ($a: String) { dagStatusChanged(after: $a) { cursor dagId state } }`;
const JOB_SUB = `subscription ($d: ID!, $a: String) { jobStatusChanged(dagId: $d, after: $a) { cursor taskId state } }`;

/** The stamped log after `cursor`, in position order, as a subscription with `after` delivers it. */
const logAfter = async (cursor: string, type: 'DAG' | 'JOB', dagId?: string) =>
  (
    await rows<Ev>(
      `SELECT position::text AS cursor, payload->>'state' AS state, dag_id AS "dagId", payload->>'taskId' AS "taskId"
       FROM event_log_events WHERE type = $2 AND position > $1::bigint AND ($3::text IS NULL OR dag_id = $3)
       ORDER BY position`,
      [cursor, type, dagId ?? null],
    )
  ).map(({ cursor: c, state, dagId: d, taskId }) =>
    type === 'DAG' ? { cursor: c, dagId: d, state } : { cursor: c, taskId, state },
  );

const ended = (c: { items: Ev[] }, dagId: string) => () =>
  c.items.some((e) => e.dagId === dagId && ['COMPLETED', 'FAILED'].includes(e.state));

describe('roles apart, on hosts of their own', () => {
  it('a subscriber on api1 receives, in order and whole, the events of DAGs submitted through api2', async () => {
    const { eventCursor } = ok(await api1.gql<{ eventCursor: string }>('{ eventCursor }'));
    const claims = `claims-${randomUUID()}`;
    const ws = api1.ws();
    const dags = collect<Ev>(ws, DAGS_SUB, { a: eventCursor });
    const jobs = collect<Ev>(ws, JOB_SUB, { d: claims, a: eventCursor });
    await submit(api2, documentPipelineDag(claims, pdfUri));
    await until(dags, ended(dags, claims), 'the document pipeline ends (api1)', 120_000);
    const d = await snapshot(api2, claims);
    expect(d.jobs.map((j) => [j.taskId, j.state, j.error]).sort()).toEqual([
      ['classify', 'COMPLETED', null],
      ['extract', 'COMPLETED', null],
      ['ocr', 'COMPLETED', null],
      ['store', 'COMPLETED', null],
    ]);
    expect((d.jobs.find((j) => j.taskId === 'extract')?.output as { claims: unknown }).claims).toEqual(
      SAMPLE_DOCUMENT.claims,
    );
    // The stream is live now (it delivered): a DAG submitted through api2 from here on reaches
    // api1 only through the relay and Redis, not as a replay of the log.
    const seed = `seed-${randomUUID()}`;
    await submit(api2, seedPipeline(seed));
    await until(dags, ended(dags, seed), 'the seed pipeline ends (api1)', 60_000);

    // Everything the log holds, in its order, nothing twice, nothing missing.
    const jobLog = await logAfter(eventCursor, 'JOB', claims);
    await until(jobs, (i) => i.length >= jobLog.length, 'every job event (api1)', 30_000);
    expect(jobs.errors).toEqual([]);
    expect(dags.errors).toEqual([]);
    expect(jobs.items).toEqual(jobLog);
    expect(jobs.items.filter((e) => e.state === 'COMPLETED').map((e) => e.taskId)).toHaveLength(4);
    expect(dags.items).toEqual(await logAfter(eventCursor, 'DAG'));
    expect(dags.items.map((e) => [e.dagId, e.state])).toEqual([
      [claims, 'CREATED'],
      [claims, 'ACTIVE'],
      [claims, 'COMPLETED'],
      [seed, 'CREATED'],
      [seed, 'ACTIVE'],
      [seed, 'COMPLETED'],
    ]);
  }, 180_000);

  it('runs seed pipelines and the 200-diamond race across both; a scheduler and a worker SIGKILLed mid-run; every DAG completes, every job exactly once', async () => {
    const seeds: string[] = [];
    for (let n = 0; n < 6; n++) {
      const id = `seed-${n}-${randomUUID()}`;
      // Slow enough that the worker about to be killed is surely running one of them.
      await submit(n % 2 ? api2 : api1, seedPipeline(id, { ocr: { data: { sleepMs: 8_000 } } }));
      seeds.push(id);
    }
    const race = `race-${randomUUID()}`;
    const jobs: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 200; i++) {
      jobs.push({ id: `r${i}`, name: 'root', executor: 'noop' });
      jobs.push({ id: `l${i}`, name: 'left', executor: 'noop', dependencies: [`r${i}`], data: { sleepMs: 5 } });
      jobs.push({ id: `p${i}`, name: 'right', executor: 'noop', dependencies: [`r${i}`], data: { sleepMs: 5 } });
      jobs.push({ id: `c${i}`, name: 'child', executor: 'noop', dependencies: [`l${i}`, `p${i}`] });
    }
    await submit(api1, { id: race, name: 'race', jobs });
    const claims = `claims-${randomUUID()}`;
    await submit(api2, documentPipelineDag(claims, pdfUri));
    const all = [...seeds, race, claims];

    // Mid-run: the race has started and not finished, and a worker is running a slow seed job: that worker dies.
    const doomedWorker = await waitFor(
      async () => {
        const [r] = await rows<{ owner: string | null; done: number; total: number }>(
          `SELECT min(lease_owner) FILTER (WHERE dag_id = ANY($1) AND task_id = 'ocr' AND state = 'ACTIVE') AS owner,
                  count(*) FILTER (WHERE dag_id = $2 AND state = 'COMPLETED')::int AS done,
                  count(*) FILTER (WHERE dag_id = $2)::int AS total
           FROM jobs WHERE dag_id = ANY($3)`,
          [seeds, race, all],
        );
        return r.owner && r.done > 0 && r.done < r.total ? (r.owner as HostName) : null;
      },
      60_000,
      'a worker running a seed job while the race runs',
    );
    expect(['worker1', 'worker2']).toContain(doomedWorker);
    const rescuer = doomedWorker === 'worker1' ? 'worker2' : 'worker1';
    // The scheduler that leads the event relay (it holds the relay's advisory lock), so the other must take over.
    const relayLeader = async () =>
      (
        await rows<{ addr: string }>(
          `SELECT host(a.client_addr) AS addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted`,
        )
      )[0]?.addr;
    const leader = await relayLeader();
    const doomedScheduler: HostName = leader === HOSTS.sched2.addr ? 'sched2' : 'sched1';
    const survivor: HostName = doomedScheduler === 'sched1' ? 'sched2' : 'sched1';
    await Promise.all([killHard(procs.get(doomedWorker)!), killHard(procs.get(doomedScheduler)!)]);
    // Nothing is left running on the two hosts.
    for (const ns of [HOSTS[doomedWorker].ns, HOSTS[doomedScheduler].ns]) {
      expect((await sh('ip', ['netns', 'pids', ns])).trim(), ns).toBe('');
    }
    // The jobs the killed worker was running.
    const orphans = (
      await rows<{ key: string }>(
        `SELECT dag_id || '/' || task_id AS key FROM jobs WHERE dag_id = ANY($1) AND state = 'ACTIVE' AND lease_owner = $2`,
        [all, doomedWorker],
      )
    ).map((r) => r.key);
    expect(orphans.length).toBeGreaterThan(0);

    const finished = await waitFor(
      async () => {
        const states = await rows<{ id: string; state: string }>(`SELECT id, state FROM dags WHERE id = ANY($1)`, [
          all,
        ]);
        return states.length === all.length &&
          states.every((s) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(s.state))
          ? states
          : null;
      },
      150_000,
      'every DAG to end',
    );
    expect(finished.filter((s) => s.state !== 'COMPLETED')).toEqual([]);
    expect(await relayLeader()).toBe(HOSTS[survivor].addr);

    // Every job: COMPLETED, exactly one SUCCEEDED attempt, the last; before it only lost leases.
    const perJob = await rows<{
      dag_id: string;
      task_id: string;
      state: string;
      outcomes: string[];
      workers: string[];
    }>(
      `SELECT j.dag_id, j.task_id, j.state,
              array_agg(a.outcome ORDER BY a.id) AS outcomes, array_agg(a.worker_id ORDER BY a.id) AS workers
       FROM jobs j JOIN job_attempts a ON a.job_id = j.id WHERE j.dag_id = ANY($1)
       GROUP BY j.dag_id, j.task_id, j.state`,
      [all],
    );
    expect(perJob).toHaveLength(6 * 4 + 800 + 4);
    const wrong = perJob.filter(
      (j) =>
        j.state !== 'COMPLETED' ||
        j.outcomes[j.outcomes.length - 1] !== 'SUCCEEDED' ||
        j.outcomes.slice(0, -1).some((o) => o !== 'LOST'),
    );
    expect(wrong).toEqual([]);
    // What the killed worker was running: its attempt lost with it, then the one success on the other worker.
    const held = perJob.filter((j) => orphans.includes(`${j.dag_id}/${j.task_id}`));
    expect(held).toHaveLength(orphans.length);
    const last = (j: (typeof perJob)[number]) => j.workers[j.workers.length - 1];
    const lostWithIt = (j: (typeof perJob)[number]) =>
      j.outcomes.some((o, i) => o === 'LOST' && j.workers[i] === doomedWorker);
    expect(held.filter((j) => !lostWithIt(j) || last(j) !== rescuer)).toEqual([]);

    // Exactly once in the log too: one COMPLETED event per job, one ACTIVE event per attempt.
    const events = await rows<{ dag_id: string; task_id: string; completed: number; actives: number }>(
      `SELECT dag_id, payload->>'taskId' AS task_id,
              count(*) FILTER (WHERE payload->>'state' = 'COMPLETED')::int AS completed,
              count(*) FILTER (WHERE payload->>'state' = 'ACTIVE')::int AS actives
       FROM event_log_events WHERE type = 'JOB' AND dag_id = ANY($1) GROUP BY 1, 2`,
      [all],
    );
    const attemptsOf = new Map(perJob.map((j) => [`${j.dag_id}/${j.task_id}`, j.outcomes.length]));
    expect(events).toHaveLength(perJob.length);
    expect(events.filter((e) => e.completed !== 1 || e.actives !== attemptsOf.get(`${e.dag_id}/${e.task_id}`))).toEqual(
      [],
    );

    // As the api processes show it: progress exact, the document pipeline's output right.
    const r = await snapshot(api2, race);
    expect(r).toMatchObject({ state: 'COMPLETED', progress: { total: 800, completed: 800, pending: 0, active: 0 } });
    const c = await snapshot(api1, claims);
    expect((c.jobs.find((j) => j.taskId === 'extract')?.output as { claims: unknown }).claims).toEqual(
      SAMPLE_DOCUMENT.claims,
    );
  }, 240_000);
});
