import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DagState, JobState } from '../src/core/states';
import { rows } from '../src/db/sql';
import { appendEvents, trimEventLog, type NewEvent } from '../src/events/event-log';
import { EventRelay } from '../src/events/relay';
import { eventsAfter, stampEvents, type EventRow } from '../src/repositories/event-log.repository';
import { OpenLineageEmitRepository } from '../src/repositories/openlineage-emit.repository';
import { waitFor } from './support/dag-helpers';
import { collect, sleep, until, waitSubscribed } from './support/event-helpers';
import { ok, startTestApp, type TestApp } from './support/test-app';

/**
 * Issue 18: a call's events of one type and DAG are one `event_log` row, yet every event
 * keeps its own position, so subscribers, cursors, trim marks and watermarks see exactly
 * what they saw with one row per event.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler'] });
});
afterAll(async () => {
  await t?.stop();
});

const job = (dagId: string, taskId: string, state: JobState): NewEvent => ({
  type: 'JOB',
  dagId,
  payload: { dagId, taskId, name: taskId, state, tryNumber: 1 },
});
const progress = { total: 1, pending: 0, active: 1, completed: 0, failed: 0, skipped: 0, cached: 0, percent: 0 };
const dag = (dagId: string, state: DagState): NewEvent => ({
  type: 'DAG',
  dagId,
  payload: { dagId, name: 'n', state, previousState: null, progress, at: new Date().toISOString() },
});
const append = (tenantId: string, events: NewEvent[]) =>
  t.app.services.ds.transaction((m) => appendEvents(m, tenantId, events));

interface Logged {
  position: string;
  type: string;
  dagId: string;
  taskId?: string;
  state: string;
}
/** The tenant's events one a row (the view), in row and payload order, once all are stamped. */
const stampedLog = (tenantId: string, n: number): Promise<Logged[]> =>
  waitFor(
    async () => {
      const found = await rows<{ position: string | null; type: string; dag_id: string; payload: Logged }>(
        t.app.services.ds,
        `SELECT position::text AS position, type, dag_id, payload FROM event_log_events
          WHERE tenant_id = $1 ORDER BY id, ord`,
        [tenantId],
      );
      if (found.length !== n || found.some((r) => r.position == null)) return null;
      return found.map((r) => ({
        position: r.position!,
        type: r.type,
        dagId: r.dag_id,
        taskId: r.payload.taskId,
        state: r.payload.state,
      }));
    },
    10_000,
    `${n} events stamped`,
  );
const rowsOf = (tenantId: string) =>
  rows<{ n_events: number; position: string }>(
    t.app.services.ds,
    `SELECT n_events, position::text AS position FROM event_log WHERE tenant_id = $1 ORDER BY id`,
    [tenantId],
  );

const JOB_SUB = `subscription ($d: ID!, $after: String) { jobStatusChanged(dagId: $d, after: $after) { cursor taskId state } }`;
const DAG_SUB = `subscription ($d: ID, $after: String) { dagStatusChanged(dagId: $d, after: $after) { cursor state } }`;
interface JobEv {
  cursor: string;
  taskId: string;
  state: string;
}

describe('coalesced event rows', () => {
  it('writes one row per run of one type and DAG, each event with its own position, in call order', async () => {
    const { tenantId, key } = await t.tenant('reader');
    const d1 = `c1-${randomUUID()}`;
    const d2 = `c2-${randomUUID()}`;
    const ws = t.ws(key);
    const live = collect<JobEv>(ws, JOB_SUB, { d: d1 });
    await waitSubscribed(t, tenantId, 1);

    await append(tenantId, [
      job(d1, 'a', 'ACTIVE'),
      job(d1, 'b', 'ACTIVE'),
      job(d1, 'c', 'ACTIVE'),
      dag(d1, 'ACTIVE'),
      job(d1, 'a', 'COMPLETED'),
      job(d1, 'b', 'COMPLETED'),
      job(d2, 'x', 'ACTIVE'),
      job(d2, 'y', 'ACTIVE'),
    ]);
    await append(tenantId, [job(d1, 'c', 'COMPLETED'), job(d1, 'd', 'ACTIVE')]);

    const log = await stampedLog(tenantId, 10);
    // Fewer rows than events: runs of 3, 1, 2 and 2 events, then the second call's 2.
    const written = await rowsOf(tenantId);
    expect(written.map((r) => r.n_events)).toEqual([3, 1, 2, 2, 2]);
    // Positions rise in call order, across rows and calls, and are consecutive within a row.
    const positions = log.map((e) => BigInt(e.position));
    for (let i = 1; i < positions.length; i++) expect(positions[i] > positions[i - 1]).toBe(true);
    expect(positions[1] - positions[0]).toBe(1n);
    expect(positions[2] - positions[1]).toBe(1n);
    // A row keeps its last event's position.
    expect(written.map((r) => r.position)).toEqual([log[2], log[3], log[5], log[7], log[9]].map((e) => e.position));
    expect(log.map((e) => `${e.dagId === d1 ? 'd1' : 'd2'}:${e.type}:${e.taskId ?? '-'}:${e.state}`)).toEqual([
      'd1:JOB:a:ACTIVE',
      'd1:JOB:b:ACTIVE',
      'd1:JOB:c:ACTIVE',
      'd1:DAG:-:ACTIVE',
      'd1:JOB:a:COMPLETED',
      'd1:JOB:b:COMPLETED',
      'd2:JOB:x:ACTIVE',
      'd2:JOB:y:ACTIVE',
      'd1:JOB:c:COMPLETED',
      'd1:JOB:d:ACTIVE',
    ]);

    // Live: one JobEvent per transition, in order, each with its own cursor.
    const d1Jobs = log.filter((e) => e.dagId === d1 && e.type === 'JOB');
    await until(live, (i) => i.length === d1Jobs.length, 'live events');
    await sleep(200);
    expect(live.items).toEqual(d1Jobs.map((e) => ({ cursor: e.position, taskId: e.taskId, state: e.state })));
    expect(ok(await t.gql<{ eventCursor: string }>('{ eventCursor }', {}, key)).eventCursor).toBe(log[9].position);

    // Resumed at a cursor inside a row (b ACTIVE, the first row's second event): exactly the rest.
    const resumed = collect<JobEv>(ws, JOB_SUB, { d: d1, after: log[1].position });
    const rest = d1Jobs.filter((e) => BigInt(e.position) > BigInt(log[1].position));
    expect(rest.map((e) => `${e.taskId}:${e.state}`)).toEqual([
      'c:ACTIVE',
      'a:COMPLETED',
      'b:COMPLETED',
      'c:COMPLETED',
      'd:ACTIVE',
    ]);
    await until(resumed, (i) => i.length === rest.length, 'replay from inside a row');
    await sleep(200);
    expect(resumed.items).toEqual(rest.map((e) => ({ cursor: e.position, taskId: e.taskId, state: e.state })));
    // At a row's last event: nothing of that row again.
    const fromRowEnd = collect<JobEv>(ws, JOB_SUB, { d: d1, after: log[5].position });
    await until(fromRowEnd, (i) => i.length === 2, 'replay from a row end');
    await sleep(200);
    expect(fromRowEnd.items.map((e) => e.cursor)).toEqual([log[8].position, log[9].position]);
    expect([...live.errors, ...resumed.errors, ...fromRowEnd.errors]).toEqual([]);
  });

  it('pages through a row: replay pages, the subscription past a page, OpenLineage out', async () => {
    const { tenantId, key } = await t.tenant('reader');
    const d = `big-${randomUUID()}`;
    // One call of 700 JOB events of one DAG: one row, longer than a replay page (500).
    const states: JobState[] = ['ACTIVE', 'COMPLETED'];
    await append(
      tenantId,
      Array.from({ length: 700 }, (_, i) => job(d, `t${i}`, states[i % 2])),
    );
    const log = await stampedLog(tenantId, 700);
    expect((await rowsOf(tenantId)).map((r) => r.n_events)).toEqual([700]);

    // The repository's pages of 3, from a cursor inside the row, meet the log exactly.
    const paged: string[] = [];
    let after = BigInt(log[10].position);
    for (let page = await eventsAfter(t.app.services.ds, tenantId, after, 'JOB', d, 3); page.length;) {
      expect(page.length).toBeLessThanOrEqual(3);
      paged.push(...page.map((e) => e.position));
      after = BigInt(page[page.length - 1].position);
      if (paged.length > 20) break;
      page = await eventsAfter(t.app.services.ds, tenantId, after, 'JOB', d, 3);
    }
    expect(paged).toEqual(log.slice(11, 32).map((e) => e.position));

    // The subscription replays all 700 past `after: 0`, across its pages, once each and in order.
    const replay = collect<JobEv>(t.ws(key), JOB_SUB, { d, after: '0' });
    await until(replay, (i) => i.length === 700, 'all 700 replayed');
    await sleep(200);
    expect(replay.items.map((e) => e.cursor)).toEqual(log.map((e) => e.position));
    expect(replay.items.map((e) => e.taskId)).toEqual(log.map((e) => e.taskId));

    // OpenLineage out reads from a watermark inside the row, at most `limit` events.
    const ol = await new OpenLineageEmitRepository().eventsAfter(t.app.services.ds, log[100].position, 5, null);
    expect(ol.map((e) => [e.position, e.tenantId])).toEqual(log.slice(101, 106).map((e) => [e.position, tenantId]));
  });

  it('trims a row whole: its last position is the mark, a cursor inside it is expired, at its end is not', async () => {
    const { tenantId, key } = await t.tenant('reader');
    const d = `trim-${randomUUID()}`;
    await append(tenantId, [dag(d, 'CREATED'), dag(d, 'ACTIVE'), dag(d, 'COMPLETED')]);
    const log = await stampedLog(tenantId, 3);
    expect((await rowsOf(tenantId)).map((r) => r.n_events)).toEqual([3]);
    await t.app.services.ds.query(`UPDATE event_log SET created_at = now() - interval '1 hour' WHERE tenant_id = $1`, [
      tenantId,
    ]);
    expect(await trimEventLog(t.app.services.ds, 1800)).toBeGreaterThanOrEqual(1);
    const [mark] = await rows<{ m: string }>(
      t.app.services.ds,
      `SELECT trimmed_through::text AS m FROM event_log_trim WHERE tenant_id = $1`,
      [tenantId],
    );
    expect(mark.m).toBe(log[2].position);
    expect(ok(await t.gql<{ eventCursor: string }>('{ eventCursor }', {}, key)).eventCursor).toBe(log[2].position);
    const ws = t.ws(key);
    const inside = collect(ws, DAG_SUB, { d, after: log[1].position });
    await waitFor(async () => inside.errors.length > 0, 10_000, 'refusal');
    expect(inside.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'CURSOR_EXPIRED' });
    const atEnd = collect(ws, DAG_SUB, { d, after: log[2].position });
    await sleep(300);
    expect(atEnd.errors).toEqual([]);
  });

  it('a relay taking over republishes from a watermark inside a row exactly the rest of it', async () => {
    const services = t.app.services;
    const { tenantId, key } = await t.tenant('reader');
    const d = `wm-${randomUUID()}`;
    const ws = t.ws(key);
    const live = collect<JobEv>(ws, JOB_SUB, { d });
    await waitSubscribed(t, tenantId, 1);
    await t.app.scheduler!.relay.stop();
    await append(
      tenantId,
      ['a', 'b', 'c', 'd', 'e'].map((task) => job(d, task, 'ACTIVE')),
    );
    // A relay that stamped the row and published its first two events, then died.
    const stamped = await stampEvents((sql, params) => rows<EventRow>(services.ds, sql, params), 1000);
    const mine = stamped.filter((e) => e.dagId === d);
    expect(mine.map((e) => (e.type === 'JOB' ? e.payload.taskId : null))).toEqual(['a', 'b', 'c', 'd', 'e']);
    // Its watermark rides on its next stamping statement (nothing left to stamp here).
    const watermark = async () =>
      (await rows<{ w: string }>(services.ds, `SELECT published_through::text AS w FROM relay_state WHERE id = 1`))[0]
        .w;
    expect(BigInt(await watermark()) < BigInt(mine[0].position)).toBe(true);
    const run = (sql: string, params?: unknown[]) => rows<EventRow>(services.ds, sql, params);
    expect(await stampEvents(run, 1000, mine[1].position)).toEqual([]);
    expect(await watermark()).toBe(mine[1].position);
    await sleep(300);
    expect(live.items).toEqual([]);

    const relay = new EventRelay(
      inject('databaseUrl'),
      services.bus,
      services.log,
      services.config.timings.sweepIntervalMs,
    );
    try {
      await relay.start();
      expect(relay.isLeader).toBe(true);
      await until(live, (i) => i.length === 3, 'the rest of the row');
      await sleep(300);
    } finally {
      await relay.stop();
    }
    // Stopped, it leaves the watermark exact (a deferred mark is written on the way out).
    expect(await watermark()).toBe(mine[4].position);
    const rest = mine.slice(2).map((e) => ({ cursor: e.position, taskId: (e.payload as { taskId: string }).taskId }));
    expect(live.items).toEqual(rest.map((e) => ({ ...e, state: 'ACTIVE' })));
  });
});
