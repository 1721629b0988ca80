import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { appendEvents, type NewEvent } from '../src/events/event-log';
import { EventRelay } from '../src/events/relay';
import { rows } from '../src/db/sql';
import { stampEvents, type EventRow } from '../src/repositories/event-log.repository';
import { SLOW_CONSUMER_CLOSE } from '../src/events/subscription.service';
import { seedPipeline, submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { collect, sleep, until, waitSubscribed } from './support/event-helpers';
import { startTestApp, type TestApp } from './support/test-app';

interface DagEv {
  cursor: string;
  state: string;
  previousState: string | null;
  dag: { name: string } | null;
}
interface JobEv {
  cursor: string;
  taskId: string;
  state: string;
}

const DAG_SUB = `subscription ($d: ID) { dagStatusChanged(dagId: $d) { cursor state previousState dag { name } } }`;
const JOB_SUB = `subscription ($d: ID!) { jobStatusChanged(dagId: $d) { cursor taskId state } }`;
const COMPLETED_SUB = `subscription ($n: String) { dagCompleted(name: $n) { cursor dagId state } }`;

/** The stamped log of one DAG, in position order. */
const logOf = async (t: TestApp, tenantId: string, dagId: string, type: string) => {
  const found: Array<{ position: string; payload: { taskId?: string; state?: string } }> =
    await t.app.services.ds.query(
      `SELECT position::text AS position, payload FROM event_log_events
       WHERE tenant_id = $1 AND dag_id = $2 AND type = $3 AND position IS NOT NULL ORDER BY event_log_events.position`,
      [tenantId, dagId, type],
    );
  return found.map((r) => ({ cursor: r.position, taskId: r.payload.taskId, state: r.payload.state }));
};

/** The first row of a query on the app's database. */
const one = async <T>(t: TestApp, sql: string, params: unknown[] = []): Promise<T> =>
  (await t.app.services.ds.query<T[]>(sql, params))[0];

/** Start apps, run `body`, stop them all whatever happens (no relay outlives its test). */
async function withApps<T>(starts: Array<() => Promise<TestApp>>, body: (apps: TestApp[]) => Promise<T>): Promise<T> {
  const apps: TestApp[] = [];
  try {
    for (const s of starts) apps.push(await s());
    return await body(apps);
  } finally {
    for (const a of apps.reverse()) await a.stop();
  }
}

describe('several processes', () => {
  it('delivers to a subscriber of one API instance, in order, the events of a DAG submitted through another', async () => {
    await withApps(
      [
        () => startTestApp({ roles: ['api'] }),
        () => startTestApp({ roles: ['api'] }),
        () => startTestApp({ roles: ['scheduler', 'worker'] }),
      ],
      async ([api1, api2]) => {
        const { tenantId } = await api1.tenant('reader');
        const { key: submitter } = await api1.app.services.apiKeys.create(tenantId, 'submit', 'submitter');
        const { key: reader } = await api2.app.services.apiKeys.create(tenantId, 'read', 'reader');
        const id = `cl-${randomUUID()}`;
        const name = `cl-${randomUUID()}`;
        const ws = api2.ws(reader);
        const dags = collect<DagEv>(ws, DAG_SUB, { d: id });
        const jobs = collect<JobEv>(ws, JOB_SUB, { d: id });
        const done = collect<{ dagId: string; state: string; cursor: string }>(ws, COMPLETED_SUB, { n: name });
        await waitSubscribed(api2, tenantId, 3);
        expect(api1.app.services.events.subscriberCount(tenantId)).toBe(0);

        await submitDag(api1, submitter, { ...seedPipeline(id), name });
        await until(done, (i) => i.length === 1, 'dagCompleted on instance 2');
        await until(jobs, (i) => i.filter((e) => e.state === 'COMPLETED').length === 4, 'four jobs done');
        await sleep(300);

        expect(dags.errors).toEqual([]);
        expect(dags.items.map((e) => [e.previousState, e.state])).toEqual([
          [null, 'CREATED'],
          ['CREATED', 'ACTIVE'],
          ['ACTIVE', 'COMPLETED'],
        ]);
        expect(dags.items.every((e) => e.dag?.name === name)).toBe(true);
        expect(dags.items.map((e) => e.cursor)).toEqual((await logOf(api2, tenantId, id, 'DAG')).map((e) => e.cursor));
        expect(jobs.items.map((e) => [e.cursor, e.taskId, e.state])).toEqual(
          (await logOf(api2, tenantId, id, 'JOB')).map((e) => [e.cursor, e.taskId, e.state]),
        );
        expect(done.items).toEqual([{ dagId: id, state: 'COMPLETED', cursor: dags.items[2].cursor }]);
      },
    );
  });
});

describe('relay crash', () => {
  it('a relay whose lock connection is killed stops, takes the lock again and stamps what came meanwhile', async () => {
    await withApps([() => startTestApp({ roles: ['api', 'scheduler'] })], async ([t]) => {
      const relay = t.app.scheduler!.relay;
      await waitFor(async () => relay.isLeader, 5_000, 'relay leading');
      const killed: Array<{ ok: boolean }> = await t.app.services.ds.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
          WHERE application_name = 'marie-relay' AND datname = current_database()
            AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')`,
      );
      expect(killed).toEqual([{ ok: true }]);
      const { tenantId, key } = await t.tenant('submitter');
      const id = `relay-kill-${randomUUID()}`;
      await submitDag(t, key, { id, name: 'relay-kill', jobs: [{ id: 'a', name: 'a', executor: 'noop' }] });
      // Stamped (by the relay once it leads again on a new connection), nothing left behind.
      await waitFor(
        async () => {
          const { n } = await one<{ n: number }>(
            t,
            `SELECT count(*)::int AS n FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND position IS NULL`,
            [tenantId, id],
          );
          const { s } = await one<{ s: number }>(
            t,
            `SELECT count(*)::int AS s FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND position IS NOT NULL`,
            [tenantId, id],
          );
          return n === 0 && s > 0;
        },
        10_000,
        'events stamped after the relay came back',
      );
      expect(relay.isLeader).toBe(true);
    });
  });

  it('delays events between commit and publish but loses none: a new relay sends each once, in order', async () => {
    await withApps(
      [() => startTestApp({ roles: ['api'] }), () => startTestApp({ roles: ['scheduler', 'worker'] })],
      async ([api, back]) => {
        const services = back.app.services;
        // The relay dies: the worker still runs the DAG and logs its events, nobody stamps or publishes them.
        await back.app.scheduler!.relay.stop();
        const { tenantId, key: submitter } = await api.tenant('submitter');
        const id = `crash-${randomUUID()}`;
        const name = `crash-${randomUUID()}`;
        const ws = api.ws(submitter);
        const dags = collect<DagEv>(ws, DAG_SUB, { d: id });
        const jobs = collect<JobEv>(ws, JOB_SUB, { d: id });
        const done = collect<{ dagId: string; state: string; cursor: string }>(ws, COMPLETED_SUB, { n: name });
        await waitSubscribed(api, tenantId, 3);

        await submitDag(api, submitter, { ...seedPipeline(id), name });
        await waitForDag(api, submitter, id, ['COMPLETED']);
        const { n: logged } = await one<{ n: number }>(
          back,
          `SELECT count(*)::int AS n FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND position IS NULL`,
          [tenantId, id],
        );
        // 3 DAG states + 4 jobs × (QUEUED?, ACTIVE, COMPLETED…): at least one per job and DAG state.
        expect(logged).toBeGreaterThanOrEqual(7);

        // A relay that died after stamping some rows but before publishing them (watermark not moved).
        const { through: before } = await one<{ through: string }>(
          back,
          `SELECT published_through::text AS through FROM relay_state WHERE id = 1`,
        );
        // The relay's own stamping statement, 2 events' worth at a time, until some of this DAG's
        // rows are stamped (rows an earlier test file's relay left unstamped come first).
        const stampedOf = async () =>
          (
            await one<{ s: number }>(
              back,
              `SELECT count(*)::int AS s FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND position IS NOT NULL`,
              [tenantId, id],
            )
          ).s;
        let stampedHere = 0;
        for (let i = 0; i < 1000 && stampedHere === 0; i++) {
          expect(
            (await stampEvents((sql, params) => rows<EventRow>(services.ds, sql, params), 2)).length,
          ).toBeGreaterThan(0);
          stampedHere = await stampedOf();
        }
        expect(stampedHere).toBeGreaterThan(0);
        expect(stampedHere).toBeLessThan(logged);

        await sleep(500);
        expect(dags.items).toEqual([]);
        expect(jobs.items).toEqual([]);
        expect(done.items).toEqual([]);
        const { through } = await one<{ through: string }>(
          back,
          `SELECT published_through::text AS through FROM relay_state WHERE id = 1`,
        );
        expect(through).toBe(before);

        // A new relay takes over: it republishes past the watermark, then stamps the rest.
        const relay = new EventRelay(
          inject('databaseUrl'),
          services.bus,
          services.log,
          services.config.timings.sweepIntervalMs,
        );
        try {
          await relay.start();
          expect(relay.isLeader).toBe(true);
          await until(done, (i) => i.length === 1, 'dagCompleted after takeover');
          await until(jobs, (i) => i.filter((e) => e.state === 'COMPLETED').length === 4, 'four jobs done');
          await sleep(300);
        } finally {
          await relay.stop();
        }

        const { n: unstamped } = await one<{ n: number }>(
          back,
          `SELECT count(*)::int AS n FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND position IS NULL`,
          [tenantId, id],
        );
        expect(unstamped).toBe(0);
        const dagLog = await logOf(api, tenantId, id, 'DAG');
        const jobLog = await logOf(api, tenantId, id, 'JOB');
        expect(dagLog.length + jobLog.length).toBe(logged);
        expect(dags.items.map((e) => e.state)).toEqual(['CREATED', 'ACTIVE', 'COMPLETED']);
        expect(dags.items.map((e) => e.cursor)).toEqual(dagLog.map((e) => e.cursor));
        expect(jobs.items.map((e) => [e.cursor, e.taskId, e.state])).toEqual(
          jobLog.map((e) => [e.cursor, e.taskId, e.state]),
        );
        expect(done.items).toEqual([{ dagId: id, state: 'COMPLETED', cursor: dagLog[2].cursor }]);
      },
    );
  });
});

describe('slow subscriber', () => {
  it('closes a subscriber that cannot keep up with 4409 while a normal one receives every event', async () => {
    const N = 100;
    const BIG = 'x'.repeat(200 * 1024);
    await withApps(
      [() => startTestApp({ roles: ['api', 'scheduler'], env: { EVENT_SUBSCRIBER_BUFFER: '5' } })],
      async ([t]) => {
        const { tenantId, key } = await t.tenant('reader');
        const id = `slow-${randomUUID()}`;
        const query = `subscription ($d: ID!) { jobStatusChanged(dagId: $d) { cursor taskId error } }`;

        // The slow client: graphql-ws spoken by hand over a socket that stops reading.
        const raw = new WebSocket(t.wsUrl, 'graphql-transport-ws');
        let closeCode = 0;
        let slowReceived = 0;
        raw.on('close', (code) => (closeCode = code));
        raw.on('message', (data: WebSocket.RawData) => {
          const m = JSON.parse((data as Buffer).toString('utf8')) as { type: string };
          if (m.type === 'connection_ack')
            raw.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { d: id } } }));
          if (m.type === 'next') slowReceived++;
        });
        await new Promise((resolve, reject) => {
          raw.once('open', resolve);
          raw.once('error', reject);
        });
        raw.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }));
        await waitSubscribed(t, tenantId, 1);
        const socket = (raw as unknown as { _socket: Socket })._socket;
        socket.pause();

        const normal = collect<{ cursor: string; taskId: string; error: string }>(t.ws(key), query, { d: id });
        await waitSubscribed(t, tenantId, 2);

        // Large events, one at a time at the pace of the normal client: it never lags, while
        // the paused one fills its TCP buffers, then its bounded buffer.
        for (let i = 0; i < N; i++) {
          const e: NewEvent = {
            type: 'JOB',
            dagId: id,
            payload: { dagId: id, taskId: `t${i}`, name: 'n', state: 'FAILED', tryNumber: 1, error: `${i}:${BIG}` },
          };
          await t.app.services.ds.transaction((m) => appendEvents(m, tenantId, [e]));
          await until(normal, (items) => items.length === i + 1, `event ${i}`);
        }
        await waitFor(async () => t.app.services.events.subscriberCount(tenantId) === 1, 10_000, 'slow one dropped');
        expect(socket.isPaused()).toBe(true);
        expect(closeCode).toBe(0);

        // Once it reads again it finds, after what was already in flight, the 4409 close.
        socket.resume();
        await waitFor(async () => closeCode !== 0, 20_000, 'slow socket closed');
        expect(closeCode).toBe(SLOW_CONSUMER_CLOSE.code);
        expect(slowReceived).toBeGreaterThan(0);
        expect(slowReceived).toBeLessThan(N);

        expect(normal.errors).toEqual([]);
        const log = await logOf(t, tenantId, id, 'JOB');
        expect(log).toHaveLength(N);
        expect(normal.items.map((e) => [e.cursor, e.taskId])).toEqual(log.map((e) => [e.cursor, e.taskId]));
        expect(normal.items.every((e, i) => e.error === `${i}:${BIG}`)).toBe(true);
        expect(normal.done).toBe(false);
      },
    );
  });
});

describe('fan-out', () => {
  /** SQL statements the API process issues while `subs` identical subscribers watch one DAG run. */
  async function sqlForRun(api: TestApp, back: TestApp, subs: number) {
    const { tenantId, key } = await back.tenant('submitter');
    const { key: reader } = await api.app.services.apiKeys.create(tenantId, 'read', 'reader');
    const id = `fan-${randomUUID()}`;
    const q = `subscription ($d: ID) { dagStatusChanged(dagId: $d) { cursor state dag { name } } }`;
    const all = Array.from({ length: subs }, () => collect<DagEv>(api.ws(reader), q, { d: id }));
    await waitSubscribed(api, tenantId, subs);
    await sleep(200);
    const before = api.app.services.sql.total;
    await submitDag(back, key, { ...seedPipeline(id), name: `fan-${subs}` });
    for (const c of all) await until(c, (i) => i.some((e) => e.state === 'COMPLETED'), 'COMPLETED');
    await sleep(300);
    const used = api.app.services.sql.total - before;
    for (const c of all) {
      expect(c.errors).toEqual([]);
      expect(c.items.map((e) => [e.state, e.dag?.name])).toEqual([
        ['CREATED', `fan-${subs}`],
        ['ACTIVE', `fan-${subs}`],
        ['COMPLETED', `fan-${subs}`],
      ]);
    }
    return used;
  }

  it('runs each event once for identical subscribers: five cost the SQL of one', async () => {
    await withApps(
      [
        // The open sockets' key checks (every AUTH_CACHE_MS) are not the fan-out's statements:
        // none falls in a run here.
        () => startTestApp({ roles: ['api'], env: { AUTH_CACHE_MS: '60000' } }),
        () => startTestApp({ roles: ['api', 'scheduler', 'worker'] }),
      ],
      async ([api, back]) => {
        const one = await sqlForRun(api, back, 1);
        const five = await sqlForRun(api, back, 5);
        // One `dag` load per event (three events), whatever the number of subscribers.
        expect(one).toBe(3);
        expect(five).toBe(one);
      },
    );
  });
});
