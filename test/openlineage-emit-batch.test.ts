import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trimEventLog } from '../src/events/event-log';
import { validateEvent } from '../src/services/openlineage/ol-validate';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { eventsOfDag, startEmittingApp, steps } from './support/ol-emit';
import type { OlReceiver } from './support/ol-receiver';
import type { TestApp } from './support/test-app';

/*
 * OpenLineage out to an endpoint that takes arrays (ours: /api/v1/lineage/batch), and the
 * event log's trim, which keeps what the receiver has not got yet.
 */

const EXEC = `olb-${randomBytes(4).toString('hex')}`;
const TENANT = `ol-batch-${randomBytes(3).toString('hex')}`;

let t: TestApp;
let receiver: OlReceiver;
beforeAll(async () => {
  ({ t, receiver } = await startEmittingApp(EXEC, [TENANT], { OPENLINEAGE_ENDPOINT: 'api/v1/lineage/batch' }));
});
afterAll(async () => {
  await t?.stop();
  await receiver?.close();
});

describe('OpenLineage out in batches', () => {
  it('sends the backlog as arrays once the receiver is back; until then the trim keeps it', async () => {
    const a = await t.tenant('executor', TENANT);
    const ds = t.app.services.ds;
    const emitter = t.app.services.openLineageEmitter!;
    const sink = t.app.services.config.openLineage!.sink;
    await receiver.down();
    const dagId = `batch-${randomUUID()}`;
    await submitDag(t, a.key, {
      id: dagId,
      name: 'batched',
      jobs: [
        { id: 'one', name: 'one', executor: EXEC, data: { out: ['batch/one'] } },
        { id: 'two', name: 'two', executor: EXEC, dependencies: ['one'], data: { out: ['batch/two'] } },
        { id: 'three', name: 'three', executor: EXEC, dependencies: ['two'], data: { out: ['batch/three'] } },
      ],
    });
    expect((await waitForDag(t, a.key, dagId, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');
    await waitFor(async () => ((await emitter.state())?.failures ?? 0) >= 1, 10_000, 'a failed try');

    // Three days old: past this trim's two days (and short of the other schedulers' seven).
    const count = async (): Promise<number> => {
      const [r]: Array<{ n: number }> = await ds.query(
        `SELECT count(*)::int AS n FROM event_log_events WHERE tenant_id = $1`,
        [a.tenantId],
      );
      return r.n;
    };
    await ds.query(`UPDATE event_log SET created_at = now() - interval '3 days' WHERE tenant_id = $1`, [a.tenantId]);
    const logged = await count();
    expect(logged).toBeGreaterThan(8);
    await trimEventLog(ds, 2 * 86_400, 100_000, sink);
    expect(await count()).toBe(logged);

    await receiver.up();
    const expected = [
      'batched START',
      'batched.one START',
      'batched.one COMPLETE',
      'batched.two START',
      'batched.two COMPLETE',
      'batched.three START',
      'batched.three COMPLETE',
      'batched COMPLETE',
    ];
    await waitFor(
      async () => eventsOfDag(receiver, a.tenantId, dagId).length >= expected.length,
      10_000,
      'the backlog delivered',
    );
    const got = eventsOfDag(receiver, a.tenantId, dagId);
    expect(steps(got)).toEqual(expected);
    for (const e of got) validateEvent(e);
    // The backlog went in one array (our batch endpoint took it whole, 201).
    expect(Math.max(...receiver.requests)).toBeGreaterThanOrEqual(expected.length);

    // Delivered: now the same trim takes them.
    await waitFor(async () => (await emitter.state())?.failures === 0, 5_000, 'the watermark committed');
    await trimEventLog(ds, 2 * 86_400, 100_000, sink);
    expect(await count()).toBe(0);
  });
});
