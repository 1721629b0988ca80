import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, startTestApp, type TestApp } from './support/test-app';
import { DATASET_SCHEMA, olHelpers, PRODUCER, runEvent } from './support/openlineage';

/*
 * OpenLineage validation from the 2-0-2 rules: lenient where clients differ, and each way
 * to be invalid with its status (400 not JSON or wrong shape, 422 a rule) and JSON path.
 */

let t: TestApp;
let h: ReturnType<typeof olHelpers>;
beforeAll(async () => {
  t = await startTestApp({ env: { LOG_LEVEL: process.env.OL_LOG ?? 'silent' } });
  h = olHelpers(t);
});
afterAll(async () => {
  await t?.stop();
});

describe('OpenLineage validation', () => {
  it('is lenient where clients differ: no zone, nanoseconds, no schemaURL', async () => {
    const ex = await t.tenant('executor');
    const job = { namespace: 'ns', name: 'lenient' };
    const cases = [
      { ...runEvent('START', randomUUID(), job), eventTime: '2024-05-01T10:11:12.123456' },
      { ...runEvent('START', randomUUID(), job), eventTime: '2024-05-01T10:11:12.123456789Z' },
      { ...runEvent('START', randomUUID(), job), eventTime: '2024-05-01T10:11:12.5+02:00' },
      (() => {
        const e = runEvent('START', randomUUID(), job);
        delete e.schemaURL;
        return e;
      })(),
    ];
    for (const e of cases) expect((await h.post(ex.key, e)).status).toBe(201);
    const rows = await h.sql<{ event_time: Date }>(
      `SELECT event_time FROM ol_events WHERE tenant_id = $1 ORDER BY id`,
      [ex.tenantId],
    );
    expect(rows.slice(0, 3).map((r) => r.event_time.toISOString())).toEqual([
      '2024-05-01T10:11:12.123Z',
      '2024-05-01T10:11:12.123Z',
      '2024-05-01T08:11:12.500Z',
    ]);
  });

  it('refuses each way to be invalid with its status and JSON path, storing nothing', async () => {
    const ex = await t.tenant('executor');
    const good = () =>
      runEvent(
        'COMPLETE',
        randomUUID(),
        { namespace: 'ns', name: 'bad' },
        { outputs: [{ namespace: 'ns', name: 'never' }] },
      );
    const without = (k: string) => {
      const e = good();
      delete e[k];
      return e;
    };
    const cases: Array<[unknown, number, string, string?]> = [
      ['{"eventTime": ', 400, '$'],
      ['[1, 2]', 400, '$'],
      ['"text"', 400, '$'],
      [without('eventTime'), 422, '$.eventTime'],
      [{ ...good(), eventTime: 'yesterday' }, 422, '$.eventTime'],
      [{ ...good(), eventTime: '2024-13-45T10:00:00Z' }, 422, '$.eventTime'],
      [without('producer'), 422, '$.producer'],
      [{ ...good(), producer: 'not a uri' }, 422, '$.producer'],
      [{ ...good(), schemaURL: 42 }, 422, '$.schemaURL'],
      [{ ...good(), run: { runId: 'not-a-uuid' } }, 422, '$.run.runId'],
      [{ ...good(), run: {} }, 422, '$.run.runId'],
      [{ ...good(), run: 'x' }, 422, '$.run'],
      [without('job'), 422, '$.job'],
      [{ ...good(), job: { namespace: 'ns' } }, 422, '$.job.name'],
      [{ ...good(), job: { name: 'n' } }, 422, '$.job.namespace'],
      [{ ...good(), eventType: 'FINISHED' }, 422, '$.eventType'],
      [{ ...good(), outputs: [{ namespace: 'ns' }] }, 422, '$.outputs[0].name'],
      [{ ...good(), inputs: {} }, 422, '$.inputs'],
      [
        {
          ...good(),
          run: { runId: randomUUID(), facets: { parent: { run: { runId: 'x' }, job: { namespace: 'a', name: 'b' } } } },
        },
        422,
        '$.run.facets.parent.run.runId',
      ],
      [{ ...good(), run: { runId: randomUUID(), facets: { nominalTime: 3 } } }, 422, '$.run.facets.nominalTime'],
      [
        { eventTime: new Date().toISOString(), producer: PRODUCER, schemaURL: DATASET_SCHEMA, dataset: { name: 'x' } },
        422,
        '$.dataset.namespace',
      ],
      [{ eventTime: new Date().toISOString(), producer: PRODUCER }, 422, '$'],
      [good(), 400, '$', '/api/v1/lineage/batch'],
      [[], 422, '$', '/api/v1/lineage/batch'],
      [[good(), without('producer')], 422, '$[1].producer', '/api/v1/lineage/batch'],
      [[good(), 7], 400, '$[1]', '/api/v1/lineage/batch'],
    ];
    for (const [body, status, path, route] of cases) {
      const res = await h.post(ex.key, body, route, typeof body === 'string');
      expect({ status: res.status, path: res.body.error?.path }, JSON.stringify(body).slice(0, 200)).toEqual({
        status,
        path,
      });
    }
    expect(await h.count(ex.tenantId)).toBe(0);
    expect(
      ok(await t.gql<{ assets: { totalCount: number } }>(`{ assets { totalCount } }`, {}, ex.key)).assets.totalCount,
    ).toBe(0);
  });

  it('requires the executor role and a key', async () => {
    const reader = await t.tenant('submitter');
    const e = runEvent('START', randomUUID(), { namespace: 'ns', name: 'n' });
    expect((await h.post(reader.key, e)).status).toBe(403);
    expect((await h.post('nope', e)).status).toBe(401);
    expect(await h.count(reader.tenantId)).toBe(0);
  });
});
