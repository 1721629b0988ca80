import { randomUUID } from 'node:crypto';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../src/resolvers/context';
import { primeEventCursor } from '../src/server/event-cursor';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { collect, until } from './support/event-helpers';
import { ok, startTestApp, type TestApp } from './support/test-app';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'] });
});
afterAll(async () => {
  await t?.stop();
});

/** Positions of a tenant's events, once none of them is left unstamped. */
async function stampedPositions(tenantId: string, dagId: string): Promise<string[]> {
  return waitFor(
    async () => {
      const found: Array<{ position: string | null }> = await t.app.services.ds.query(
        `SELECT position::text AS position FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 ORDER BY event_log_events.position`,
        [tenantId, dagId],
      );
      return found.every((r) => r.position != null) ? found.map((r) => r.position!) : null;
    },
    10_000,
    'every event stamped',
  );
}

const STATE_AND_CURSOR = `query ($id: ID!) { eventCursor dag(id: $id) { state jobs { taskId state } } }`;
const DAG_SUB = `subscription ($d: ID, $after: String) { dagStatusChanged(dagId: $d, after: $after) { cursor state } }`;
const JOB_SUB = `subscription ($d: ID!, $after: String) { jobStatusChanged(dagId: $d, after: $after) { cursor taskId state } }`;

describe('Query.eventCursor', () => {
  it("is the tenant's last stamped position: 0 for an empty log, unmoved by another tenant's events", async () => {
    const a = await t.tenant('submitter');
    const b = await t.tenant('reader');
    expect(ok(await t.gql<{ eventCursor: string }>('{ eventCursor }', {}, a.key)).eventCursor).toBe('0');
    const id = await submitDag(t, a.key, {
      id: `cur-${randomUUID()}`,
      name: 'cursor',
      jobs: [{ id: 'only', name: 'only', executor: 'noop' }],
    });
    await waitForDag(t, a.key, id, ['COMPLETED']);
    const positions = await stampedPositions(a.tenantId, id);
    const last = positions.map(BigInt).reduce((x, y) => (y > x ? y : x));
    expect(ok(await t.gql<{ eventCursor: string }>('{ eventCursor }', {}, a.key)).eventCursor).toBe(String(last));
    expect(ok(await t.gql<{ eventCursor: string }>('{ eventCursor }', {}, b.key)).eventCursor).toBe('0');
  });

  it('is at least the trim mark, so a cursor read after a trim is never refused as expired', async () => {
    const a = await t.tenant('reader');
    await t.app.services.ds.query(`INSERT INTO event_log_trim (tenant_id, trimmed_through) VALUES ($1, 987654)`, [
      a.tenantId,
    ]);
    const { eventCursor } = ok(await t.gql<{ eventCursor: string }>('{ eventCursor }', {}, a.key));
    expect(eventCursor).toBe('987654');
    const sub = collect(t.ws(a.key), DAG_SUB, { d: null, after: eventCursor });
    await waitFor(async () => t.app.services.events.subscriberCount(a.tenantId) >= 1, 10_000, 'subscribed');
    expect(sub.errors).toEqual([]);
    sub.stop();
  });

  it('needs a key', async () => {
    const res = await t.gql('{ eventCursor }');
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('read with the state, then subscribed after: an event committed in between is replayed, nothing before it is', async () => {
    const a = await t.tenant('submitter');
    const id = await submitDag(t, a.key, {
      id: `between-${randomUUID()}`,
      name: 'between',
      jobs: [{ id: 'hold', name: 'hold', executor: 'noop', data: { hang: true } }],
    });
    await waitForDag(t, a.key, id, ['ACTIVE']);
    await waitFor(
      async () =>
        ok(await t.gql<{ dag: { jobs: Array<{ state: string }> } }>(STATE_AND_CURSOR, { id }, a.key)).dag.jobs[0]
          .state === 'ACTIVE',
      10_000,
      'job active',
    );
    await stampedPositions(a.tenantId, id);
    const read = ok(
      await t.gql<{ eventCursor: string; dag: { state: string; jobs: Array<{ taskId: string; state: string }> } }>(
        STATE_AND_CURSOR,
        { id },
        a.key,
      ),
    );
    expect(read.dag.state).toBe('ACTIVE');
    const before = await stampedPositions(a.tenantId, id);
    expect(before.every((p) => BigInt(p) <= BigInt(read.eventCursor))).toBe(true);

    // Committed (and stamped) after the read, before the subscription.
    ok(await t.gql(`mutation ($id: ID!) { cancelDag(id: $id) { state } }`, { id }, a.key));
    const later = async () =>
      (await stampedPositions(a.tenantId, id)).filter((p) => BigInt(p) > BigInt(read.eventCursor));
    expect((await later()).length).toBeGreaterThan(0);

    const ws = t.ws(a.key);
    const dags = collect<{ cursor: string; state: string }>(ws, DAG_SUB, { d: id, after: read.eventCursor });
    const jobs = collect<{ cursor: string; state: string }>(ws, JOB_SUB, { d: id, after: read.eventCursor });
    await until(dags, (items) => items.some((e) => e.state === 'CANCELLED'), 'DAG cancelled');
    await until(jobs, (items) => items.some((e) => e.state === 'CANCELLED'), 'job cancelled');
    const seen = [...dags.items, ...jobs.items].map((e) => e.cursor).sort((x, y) => Number(BigInt(x) - BigInt(y)));
    expect(seen).toEqual(await later());
    expect(dags.errors).toEqual([]);
    dags.stop();
    jobs.stop();
  });

  it('is read before the operation executes when the operation selects it, and only then', async () => {
    const a = await t.tenant('reader');
    const principal = await t.app.services.apiKeys.authenticate(a.key);
    const ctx = createContext(t.app.services, principal, 'r', t.app.services.log);
    await primeEventCursor(ctx, parse('query Q { ...F } fragment F on Query { eventCursor }'), 'Q');
    expect(ctx.eventCursor).toBe('0');
    const other = createContext(t.app.services, principal, 'r', t.app.services.log);
    await primeEventCursor(other, parse('{ workers { id } }'), undefined);
    expect(other.eventCursor).toBeUndefined();
    const anonymous = createContext(t.app.services, null, 'r', t.app.services.log);
    await primeEventCursor(anonymous, parse('{ eventCursor }'), undefined);
    expect(anonymous.eventCursor).toBeUndefined();
  });
});
