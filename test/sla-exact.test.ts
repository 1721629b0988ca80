import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepSoftMisses } from '../src/services/sla-marks';
import { sweepSlas } from '../src/scheduler/sweeps/sla.sweep';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

/**
 * SLA status is judged against the deadline, not the sweep's tick: the sweep runs once at
 * start and then every 10 minutes here, so anything these tests see came from the
 * transitions themselves.
 */
let t: TestApp;
let key: string;
let tenantId: string;

beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], env: { SWEEP_INTERVAL_MS: '600000' } });
  ({ key, tenantId } = await t.tenant('submitter'));
});
afterAll(async () => {
  await t?.stop();
});

const soon = (ms: number) => new Date(Date.now() + ms).toISOString();
const slaEvents = async (dagId: string): Promise<Array<[unknown, unknown]>> => {
  const rows: Array<{ payload: { kind: string; taskId: string | null } }> = await t.app.services.ds.query(
    `SELECT payload FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND type = 'SLA' ORDER BY id, ord`,
    [tenantId, dagId],
  );
  return rows.map((r) => [r.payload.kind, r.payload.taskId]);
};
const slaStatus = async (id: string) =>
  ok(await t.gql<{ dag: { slaStatus: string } }>(`query ($id: ID!) { dag(id: $id) { slaStatus } }`, { id }, key)).dag
    .slaStatus;

describe('SLAs judged against the deadline', () => {
  it('a DAG and a job finishing after their soft SLA are SOFT_MISSED with exactly one event each, before any sweep', async () => {
    const late = `late-${randomUUID()}`;
    await submitDag(t, key, {
      id: late,
      name: 'late',
      softSla: soon(700),
      jobs: [{ id: 'a', name: 'a', executor: 'noop', softSla: soon(700), data: { sleepMs: 1500 } }],
    });
    const onTime = `ontime-${randomUUID()}`;
    await submitDag(t, key, {
      id: onTime,
      name: 'on-time',
      softSla: soon(60_000),
      jobs: [{ id: 'a', name: 'a', executor: 'noop', softSla: soon(60_000) }],
    });
    expect((await waitForDag(t, key, late, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');
    expect((await waitForDag(t, key, onTime, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');

    expect(await slaStatus(late)).toBe('SOFT_MISSED');
    expect(await slaEvents(late)).toEqual([
      ['SOFT_MISSED', 'a'],
      ['SOFT_MISSED', null],
    ]);
    expect(await slaStatus(onTime)).toBe('MET');
    expect(await slaEvents(onTime)).toEqual([]);

    // A sweep afterwards adds nothing: each miss has its one event.
    await sweepSlas(t.app.services);
    expect(await slaEvents(late)).toHaveLength(2);
  });

  it('a DAG that completes after its hard SLA, before the sweep saw it, is HARD_MISSED with one event', async () => {
    const id = `hardlate-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'hard-late',
      hardSla: soon(700),
      jobs: [{ id: 'a', name: 'a', executor: 'noop', data: { sleepMs: 1500 } }],
    });
    expect((await waitForDag(t, key, id, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');
    expect(await slaStatus(id)).toBe('HARD_MISSED');
    expect(await slaEvents(id)).toEqual([['HARD_MISSED', null]]);
    await sweepSlas(t.app.services);
    expect(await slaEvents(id)).toEqual([['HARD_MISSED', null]]);
  });

  it('refuses a deadline already past at submission (BAD_USER_INPUT naming it), storing nothing', async () => {
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ hardSla: hourAgo }, 'input.hardSla'],
      [{ softSla: hourAgo }, 'input.softSla'],
      [{ jobs: [{ id: 'a', name: 'a', executor: 'noop', hardSla: hourAgo }] }, 'input.jobs[0].hardSla'],
      [{ jobs: [{ id: 'a', name: 'a', executor: 'noop', softSla: hourAgo }] }, 'input.jobs[0].softSla'],
    ];
    for (const [over, field] of cases) {
      const id = `past-${randomUUID()}`;
      const res = await t.gql(
        `mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id } }`,
        { input: { id, name: 'past', jobs: [{ id: 'a', name: 'a', executor: 'noop' }], ...over } },
        key,
      );
      expect(codeOf(res), field).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field).toBe(field);
      const stored = ok(await t.gql<{ dag: unknown }>(`query ($id: ID!) { dag(id: $id) { id } }`, { id }, key));
      expect(stored.dag).toBeNull();
    }
  });

  it('a replay of a DAG submitted while its deadline was ahead still returns the stored DAG', async () => {
    const id = `replay-${randomUUID()}`;
    const input = {
      id,
      name: 'replay',
      hardSla: soon(400),
      jobs: [{ id: 'a', name: 'a', executor: 'noop' }],
    };
    await submitDag(t, key, input);
    await waitFor(async () => Date.now() > Date.parse(input.hardSla) + 50, 5_000, 'the deadline to pass');
    expect(await submitDag(t, key, input)).toBe(id);
  });

  it('a soft-miss mark and its event are one transaction: when the event cannot be written, neither is', async () => {
    const id = `atomic-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'atomic',
      softSla: soon(300),
      jobs: [{ id: 'a', name: 'a', executor: 'noop', softSla: soon(300), data: { hang: true } }],
    });
    const { ds } = t.app.services;
    const fn = `refuse_sla_${randomUUID().replace(/-/g, '')}`;
    // Stands for a crash between the mark and its event: the event's INSERT fails.
    await ds.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.type = 'SLA' AND NEW.dag_id = '${id}' THEN RAISE EXCEPTION 'no SLA event'; END IF; RETURN NEW; END $$`);
    await ds.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON event_log FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    const marks = async () =>
      (
        await ds.query(
          `SELECT (SELECT sla_soft_missed_at FROM dags WHERE tenant_id = $1 AND id = $2) AS dag,
                  (SELECT sla_soft_missed_at FROM jobs WHERE tenant_id = $1 AND dag_id = $2) AS job`,
          [tenantId, id],
        )
      )[0] as { dag: Date | null; job: Date | null };
    try {
      await waitFor(async () => (await slaStatus(id)) === 'SOFT_MISSED', 5_000, 'the soft deadline to pass');
      await expect(sweepSoftMisses(ds)).rejects.toThrow(/no SLA event/);
      expect(await marks()).toEqual({ dag: null, job: null });
      expect(await slaEvents(id)).toEqual([]);
    } finally {
      await ds.query(`DROP TRIGGER ${fn} ON event_log`);
      await ds.query(`DROP FUNCTION ${fn}()`);
    }
    // The sweep skips a row another transaction holds (SKIP LOCKED: the worker's lease
    // renewal, say); the next sweep marks it.
    const after = await waitFor(
      async () => {
        await sweepSlas(t.app.services);
        const m = await marks();
        return m.dag && m.job ? m : null;
      },
      10_000,
      'the sweep to mark the DAG and the job',
    );
    expect(after.dag).not.toBeNull();
    expect(after.job).not.toBeNull();
    // One event each. Their order is the order of the sweeps that marked them: one sweep
    // marks the job, then the DAG; a sweep that skipped the job's row (SKIP LOCKED, above)
    // marks the DAG first and a later one the job.
    const events = await slaEvents(id);
    expect(events).toHaveLength(2);
    expect(events).toEqual(
      expect.arrayContaining([
        ['SOFT_MISSED', 'a'],
        ['SOFT_MISSED', null],
      ]),
    );
    ok(await t.gql(`mutation ($id: ID!) { cancelDag(id: $id) { id } }`, { id }, key));
  });
});
