import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trimEventLog } from '../src/events/event-log';
import { seedPipeline, submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { collect, sleep, until, waitSubscribed } from './support/event-helpers';
import { ok, startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
let key: string;
let tenantId: string;

beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'] });
  ({ key, tenantId } = await t.tenant('reader'));
});
afterAll(async () => {
  await t?.stop();
});

interface DagEv {
  cursor: string;
  dagId: string;
  state: string;
  previousState: string | null;
  progress: { total: number; completed: number; percent: number };
  dag: { id: string; name: string } | null;
}
interface JobEv {
  cursor: string;
  taskId: string;
  state: string;
  tryNumber: number;
  job: { id: string; taskId: string } | null;
}

const DAG_SUB = `subscription ($d: ID, $after: String) { dagStatusChanged(dagId: $d, after: $after) {
  cursor dagId state previousState progress { total completed percent } dag { id name } } }`;
const JOB_SUB = `subscription ($d: ID!, $after: String) { jobStatusChanged(dagId: $d, after: $after) {
  cursor taskId state tryNumber job { id taskId } } }`;
const COMPLETED_SUB = `subscription ($n: String) { dagCompleted(name: $n) { cursor dagId state } }`;

/** The log of one DAG as the relay stamped it. */
interface LogEntry {
  cursor: string;
  taskId?: string;
  state?: string;
}
const logOf = async (tenant: string, dagId: string, type: string): Promise<LogEntry[]> => {
  const found: Array<{ position: string; payload: Record<string, unknown> }> = await t.app.services.ds.query(
    `SELECT position::text AS position, payload FROM event_log_events
     WHERE tenant_id = $1 AND dag_id = $2 AND type = $3 AND position IS NOT NULL ORDER BY event_log_events.position`,
    [tenant, dagId, type],
  );
  return found.map((r) => ({ ...(r.payload as Omit<LogEntry, 'cursor'>), cursor: r.position }));
};

const submitter = async (tenant: string) => {
  const { key: k } = await t.app.services.apiKeys.create(tenant, `sub-${randomUUID()}`, 'submitter');
  return k;
};

describe('live DAG events', () => {
  it('shows every state change of a running DAG in order, its jobs, and dagCompleted at the end', async () => {
    const ws = t.ws(key);
    const id = `ev-${randomUUID()}`;
    const name = `pipe-${randomUUID()}`;
    const dags = collect<DagEv>(ws, DAG_SUB, { d: id });
    const jobs = collect<JobEv>(ws, JOB_SUB, { d: id });
    const done = collect<{ dagId: string; state: string }>(ws, COMPLETED_SUB, { n: name });
    const other = collect<{ dagId: string }>(ws, COMPLETED_SUB, { n: `other-${randomUUID()}` });
    await waitSubscribed(t, tenantId, 4);

    await submitDag(t, await submitter(tenantId), { ...seedPipeline(id), name });
    await until(done, (i) => i.length === 1, 'dagCompleted');
    await until(dags, (i) => i.some((e) => e.state === 'COMPLETED'), 'DAG COMPLETED');
    await until(jobs, (i) => i.filter((e) => e.state === 'COMPLETED').length === 4, 'four jobs done');

    expect(dags.items.map((e) => [e.previousState, e.state])).toEqual([
      [null, 'CREATED'],
      ['CREATED', 'ACTIVE'],
      ['ACTIVE', 'COMPLETED'],
    ]);
    expect(dags.items.at(-1)).toMatchObject({ progress: { total: 4, completed: 4, percent: 100 } });
    expect(dags.items.every((e) => e.dag?.id === id && e.dag.name === name)).toBe(true);
    // Exactly the log, in its order, cursors and all.
    const jobLog = await logOf(tenantId, id, 'JOB');
    expect(jobs.items.map((e) => [e.cursor, e.taskId, e.state])).toEqual(
      jobLog.map((e) => [e.cursor, e.taskId, e.state]),
    );
    expect(jobs.items.every((e) => e.job?.taskId === e.taskId)).toBe(true);
    expect(dags.items.map((e) => e.cursor)).toEqual((await logOf(tenantId, id, 'DAG')).map((e) => e.cursor));
    expect(done.items).toMatchObject([{ dagId: id, state: 'COMPLETED' }]);
    expect(done.items[0]).toMatchObject({ cursor: dags.items.at(-1)?.cursor });
    expect(other.items).toEqual([]);
  });

  it('sends assetsIncomplete with the node and its missing key, and assetMaterialized filtered by namespace', async () => {
    const ws = t.ws(key);
    const id = `inc-${randomUUID()}`;
    const incomplete = collect<{
      dagId: string;
      incompleteNodes: Array<{ nodeTaskId: string; missingRequiredAssets: string[] }>;
    }>(
      ws,
      `subscription ($d: ID) { assetsIncomplete(dagId: $d) { cursor dagId incompleteNodes { nodeTaskId missingRequiredAssets } } }`,
      { d: id },
    );
    const ocrNs = collect<{ assetKey: string; materialization: { id: string; assetKey: string } }>(
      ws,
      `subscription { assetMaterialized(namespace: "ocr") { cursor assetKey materialization { id assetKey } } }`,
    );
    const metaKey = collect<{ assetKey: string }>(
      ws,
      `subscription { assetMaterialized(assetKey: "meta/pages") { cursor assetKey } }`,
    );
    await waitSubscribed(t, tenantId, 3);

    const job = (jid: string, deps: string[], data: Record<string, unknown>, assets: unknown[]) => ({
      id: jid,
      name: jid,
      executor: 'noop',
      dependencies: deps,
      data,
      assets,
    });
    await submitDag(t, await submitter(tenantId), {
      id,
      name: 'assets',
      jobs: [
        job(
          'ocr',
          [],
          {
            materialize: [
              { assetKey: 'ocr/text', version: 'v1' },
              { assetKey: 'meta/pages', version: 'v1' },
            ],
          },
          [{ key: 'ocr/text' }, { key: 'ocr/bboxes' }, { key: 'meta/pages', isRequired: false }],
        ),
        job('store', ['ocr'], { materialize: [{ assetKey: 'ocr/stored', version: 'v1' }] }, [{ key: 'ocr/stored' }]),
      ],
    });
    await waitForDag(t, key, id, ['COMPLETED']);
    await until(incomplete, (i) => i.length === 1, 'assetsIncomplete');
    expect(incomplete.items[0]).toMatchObject({
      dagId: id,
      incompleteNodes: [{ nodeTaskId: 'ocr', missingRequiredAssets: ['ocr/bboxes'] }],
    });
    await until(ocrNs, (i) => i.length === 2, 'ocr materializations');
    await until(metaKey, (i) => i.length === 1, 'meta/pages');
    await sleep(300);
    expect(ocrNs.items.map((e) => e.assetKey)).toEqual(['ocr/text', 'ocr/stored']);
    expect(ocrNs.items.every((e) => e.materialization.assetKey === e.assetKey)).toBe(true);
    expect(metaKey.items.map((e) => e.assetKey)).toEqual(['meta/pages']);
  });
});

describe('resume', () => {
  const chain = (id: string) => ({
    id,
    name: 'chain',
    jobs: [
      { id: 'a', name: 'a', executor: 'noop', dependencies: [], data: { sleepMs: 200 } },
      { id: 'b', name: 'b', executor: 'noop', dependencies: ['a'], data: { sleepMs: 200 } },
      { id: 'c', name: 'c', executor: 'noop', dependencies: ['b'], data: { sleepMs: 2000 } },
    ],
  });

  it('replays exactly what a client missed while away, then the live events, none twice', async () => {
    const id = `res-${randomUUID()}`;
    const first = t.ws(key);
    const before = collect<JobEv>(first, JOB_SUB, { d: id });
    await waitSubscribed(t, tenantId, 1);
    await submitDag(t, await submitter(tenantId), chain(id));
    await until(before, (i) => i.some((e) => e.taskId === 'a' && e.state === 'COMPLETED'), 'a done');
    await first.dispose();
    const seen = [...before.items];
    // Away while b runs and c starts.
    await waitFor(async () => (await logOf(tenantId, id, 'JOB')).some((e) => e.taskId === 'c'), 15_000, 'c started');
    const missed = (await logOf(tenantId, id, 'JOB')).filter((e) => BigInt(e.cursor) > BigInt(seen.at(-1)!.cursor));
    expect(missed.length).toBeGreaterThan(0);

    const after = collect<JobEv>(t.ws(key), JOB_SUB, { d: id, after: seen.at(-1)!.cursor });
    await until(after, (i) => i.some((e) => e.taskId === 'c' && e.state === 'COMPLETED'), 'c done');
    await sleep(300);
    const all = [...seen, ...after.items].map((e) => e.cursor);
    const log = await logOf(tenantId, id, 'JOB');
    expect(all).toEqual(log.map((e) => e.cursor));
    expect(new Set(all).size).toBe(all.length);
    // The reconnect got the missed ones first, then c's completion live.
    expect(after.items.slice(0, missed.length).map((e) => e.cursor)).toEqual(missed.map((e) => e.cursor));
    expect(after.items.length).toBeGreaterThan(missed.length);
  });

  it('replays past a cursor across several pages', async () => {
    const id = `pages-${randomUUID()}`;
    const { key: sk } = await t.tenant('submitter');
    const tn = (await t.app.services.apiKeys.authenticate(sk))!.tenantId;
    // 600 logged events (more than one replay page), stamped as the relay would.
    await t.app.services.ds.query(
      `INSERT INTO event_log (tenant_id, type, dag_id, payload, position)
       SELECT $1, 'DAG', $2, jsonb_build_object('dagId', $2::text, 'name', 'n', 'state', 'ACTIVE',
         'previousState', 'CREATED', 'progress', jsonb_build_object('total', 1, 'pending', 0, 'active', 1,
         'completed', 0, 'failed', 0, 'skipped', 0, 'percent', 0), 'at', now()), nextval('event_position_seq')
       FROM generate_series(1, 600)`,
      [tn, id],
    );
    const log = await logOf(tn, id, 'DAG');
    const c = collect<DagEv>(
      t.ws(sk),
      `subscription ($d: ID, $a: String) { dagStatusChanged(dagId: $d, after: $a) { cursor } }`,
      {
        d: id,
        a: log[9].cursor,
      },
    );
    await until(c, (i) => i.length >= 590 || c.errors.length > 0, 'replay');
    expect(c.errors).toEqual([]);
    await sleep(200);
    expect(c.items.map((e) => e.cursor)).toEqual(log.slice(10).map((e) => e.cursor));
  });

  it('refuses an expired cursor with CURSOR_EXPIRED and a malformed one with BAD_USER_INPUT', async () => {
    const { key: k, tenantId: tn } = await t.tenant('reader');
    const id = `old-${randomUUID()}`;
    await t.app.services.ds.query(
      `INSERT INTO event_log (tenant_id, type, dag_id, payload, position, created_at)
       SELECT $1, 'DAG', $2, '{}'::jsonb, nextval('event_position_seq'), now() - interval '1 hour' FROM generate_series(1, 3)`,
      [tn, id],
    );
    const old = await logOf(tn, id, 'DAG');
    const ws = t.ws(k);
    const CUR = `subscription ($d: ID, $after: String) { dagStatusChanged(dagId: $d, after: $after) { cursor } }`;
    // Before the trim, the oldest cursor is fine.
    const fine = collect(ws, CUR, { d: id, after: old[0].cursor });
    await until(fine, (i) => i.length === 2, 'replay before trim');
    expect(fine.errors).toEqual([]);

    // An hour old: the scheduler's own trim (7 days) leaves them; this one (30 minutes) does not.
    expect(await trimEventLog(t.app.services.ds, 1800)).toBeGreaterThanOrEqual(3);
    const expired = collect(ws, CUR, { d: id, after: old[0].cursor });
    await waitFor(async () => expired.errors.length > 0, 10_000, 'refusal');
    expect(expired.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'CURSOR_EXPIRED' });
    // A cursor at or past the last trimmed event is still good.
    const current = collect(ws, CUR, { d: id, after: old[2].cursor });
    await sleep(300);
    expect(current.errors).toEqual([]);
    const bad = collect(ws, CUR, { d: id, after: 'abc' });
    await waitFor(async () => bad.errors.length > 0, 10_000, 'bad cursor');
    expect(bad.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('isolation and access', () => {
  it("gives a tenant nothing of another tenant's, even subscribed to that tenant's DAG id", async () => {
    const a = await t.tenant('reader');
    const b = await t.tenant('submitter');
    const id = `iso-${randomUUID()}`;
    const wsA = t.ws(a.key);
    const allOfA = collect(wsA, DAG_SUB, {});
    const bDagFromA = collect(wsA, DAG_SUB, { d: id });
    const jobsFromA = collect(wsA, JOB_SUB, { d: id });
    const ofB = collect<DagEv>(t.ws(b.key), DAG_SUB, { d: id });
    await waitSubscribed(t, a.tenantId, 3);
    await waitSubscribed(t, b.tenantId, 1);
    await submitDag(t, b.key, seedPipeline(id));
    await until(ofB, (i) => i.some((e) => e.state === 'COMPLETED'), "B's own events");
    await sleep(300);
    expect(allOfA.items).toEqual([]);
    expect(bDagFromA.items).toEqual([]);
    expect(jobsFromA.items).toEqual([]);
    // Resuming from zero replays nothing of B either.
    const replay = collect(t.ws(a.key), DAG_SUB, { d: id, after: '0' });
    await sleep(500);
    expect(replay.items).toEqual([]);
    expect(replay.errors).toEqual([]);
  });

  it('refuses a connection with a bad key (4403)', async () => {
    let code = 0;
    const ws = t.ws('mk_not-a-key', { onClosed: (c) => (code = c) });
    collect(ws, DAG_SUB, {});
    await waitFor(async () => code === 4403, 10_000, 'close 4403');
  });

  /** A READER key of a fresh tenant with a live subscription, revoked by `revoke`: its socket closes with 4403. */
  async function revokedWhileSubscribed(revoke: (admin: string, keyId: string) => Promise<unknown>): Promise<void> {
    const admin = await t.tenant('admin');
    const created = ok(
      await t.gql<{ createApiKey: { key: string; apiKey: { id: string } } }>(
        'mutation ($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { id } } }',
        { i: { name: 'dash', role: 'READER' } },
        admin.key,
      ),
    ).createApiKey;
    let code = 0;
    const ws = t.ws(created.key, { onClosed: (c) => (code = c) });
    const sub = collect(ws, DAG_SUB, {});
    await waitSubscribed(t, admin.tenantId, 1);
    await revoke(admin.key, created.apiKey.id);
    await waitFor(async () => code === 4403, 10_000, 'close 4403');
    await waitFor(async () => t.app.services.events.subscriberCount(admin.tenantId) === 0, 5_000, 'stream released');
    expect(sub.items).toEqual([]);
  }

  it("closes a revoked key's active subscriptions at once", async () => {
    await revokedWhileSubscribed(async (adminKey, id) =>
      ok(await t.gql('mutation ($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id }, adminKey)),
    );
  });

  it("closes a revoked key's subscriptions when its revocation never reaches the bus", async () => {
    // Revoked by a process that could not publish (Redis away): no API_KEY_REVOKED message.
    // The open sockets' keys are checked every AUTH_CACHE_MS (at least 1 s).
    await revokedWhileSubscribed((_adminKey, id) =>
      t.app.services.ds.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [id]),
    );
  });
});
