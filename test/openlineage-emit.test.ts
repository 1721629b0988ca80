import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseKey } from '../src/services/openlineage/ol-keys';
import { attemptRunId, dagRunId } from '../src/services/openlineage/ol-emit-events';
import { validateEvent } from '../src/services/openlineage/ol-validate';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { olHelpers, runEvent, versionFacet } from './support/openlineage';
import { eventsOfDag, startEmittingApp, steps, V, type OlEvent, type RecorderData } from './support/ol-emit';
import type { OlReceiver } from './support/ol-receiver';
import { ok, type TestApp } from './support/test-app';

/*
 * OpenLineage out: with OPENLINEAGE_URL, our DAG runs and attempts go out as RunEvents
 * through the event log (the outbox), in order, retried with backoff. The receiver is a
 * server of the test's own that forwards to our own ingest on a second tenant.
 */

const EXEC = `olx-${randomBytes(4).toString('hex')}`;
// The tenants whose runs are emitted (OPENLINEAGE_TENANTS): the test's own, whatever else shares the database.
const SLUG = (n: string) => `ol-${n}-${randomBytes(3).toString('hex')}`;
const TENANTS = { roundTrip: SLUG('rt'), shape: SLUG('shape'), down: SLUG('down') };

let t: TestApp;
let receiver: OlReceiver;
let b: { tenantId: string; key: string };
beforeAll(async () => {
  ({ t, receiver, b } = await startEmittingApp(EXEC, Object.values(TENANTS)));
});
afterAll(async () => {
  await t?.stop();
  await receiver?.close();
});

const eventsOf = (tenantId: string, dagId: string) => eventsOfDag(receiver, tenantId, dagId);

const JOB = `query ($d: ID!, $t: String!) { job(dagId: $d, taskId: $t) { id state } }`;
const jobOf = async (key: string, dagId: string, taskId: string) =>
  ok(await t.gql<{ job: { id: string; state: string } | null }>(JOB, { d: dagId, t: taskId }, key)).job;

const LINEAGE = `query ($k: String!) { lineage(assetKey: $k, direction: UPSTREAM, depth: 10) {
  nodes { assetKey distance } edges { fromAssetKey toAssetKey } } }`;
type Graph = {
  nodes: Array<{ assetKey: string; distance: number }>;
  edges: Array<{ fromAssetKey: string; toAssetKey: string }>;
};
const lineage = async (key: string, k: string) => ok(await t.gql<{ lineage: Graph }>(LINEAGE, { k }, key)).lineage;

describe('OpenLineage out', () => {
  it('round trip: a DAG emitted into our own ingest on a second tenant rebuilds the same lineage graph there', async () => {
    const a = await t.tenant('executor', TENANTS.roundTrip);
    const h = olHelpers(t);
    // An input that came from OpenLineage (a Spark-like run on tenant A): emitted under its original names.
    const spark = { namespace: 'spark://cluster', name: 'ingest.docs' };
    const raw = { namespace: 's3://raw', name: '/docs/in.pdf', facets: versionFacet('pdf-1') };
    expect((await h.post(a.key, runEvent('COMPLETE', randomUUID(), spark, { outputs: [raw] }))).status).toBe(201);
    const rawKey = 'ol/s3---raw/-docs-in.pdf';
    const rawVersion = (await h.asset(a.key, rawKey))!.latest!.version;

    const dagId = `rt-${randomUUID()}`;
    const job = (id: string, deps: string[], data: RecorderData) => ({
      id,
      name: id,
      executor: EXEC,
      dependencies: deps,
      data,
    });
    await submitDag(t, a.key, {
      id: dagId,
      name: 'docs-pipeline',
      jobs: [
        job('ocr', [], { out: ['ocr/text', 'ocr/boxes'], extra: [{ assetKey: rawKey, version: rawVersion }] }),
        job('classify', ['ocr'], { out: ['cls/label'] }),
        job('extract', ['ocr'], { out: ['ext/fields'] }),
        job('store', ['classify', 'extract'], { out: ['store/record'] }),
      ],
    });
    expect((await waitForDag(t, a.key, dagId, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');
    const ns = `marie/${a.slug}`;
    await waitFor(
      async () => steps(eventsOf(a.tenantId, dagId)).at(-1) === 'docs-pipeline COMPLETE',
      15_000,
      'the DAG COMPLETE',
    );

    const onA = await lineage(a.key, 'store/record');
    const mapped = (k: string) => (k.startsWith('ol/') ? k : baseKey(ns, k));
    const onB = await lineage(b.key, mapped('store/record'));
    const norm = (g: Graph, f: (k: string) => string) => ({
      nodes: g.nodes.map((n) => `${f(n.assetKey)}@${n.distance}`).sort(),
      edges: g.edges.map((e) => `${f(e.fromAssetKey)}->${f(e.toAssetKey)}`).sort(),
    });
    expect(onA.nodes.map((n) => n.assetKey)).toContain(rawKey);
    expect(onA.edges.length).toBeGreaterThanOrEqual(5);
    expect(norm(onB, (k) => k)).toEqual(norm(onA, mapped));
    // The dataset of our own asset is (namespace, asset key) on the receiving side.
    expect((await h.asset(b.key, mapped('ocr/text')))?.openLineage).toEqual({ namespace: ns, name: 'ocr/text' });
  });

  it('event shape: START then COMPLETE, FAIL or ABORT; parent facets; inputs and outputs with version facets', async () => {
    const a = await t.tenant('executor', TENANTS.shape);
    const ns = `marie/${a.slug}`;
    // A tenant that OPENLINEAGE_TENANTS does not name: its runs stay here.
    const quiet = await t.tenant('executor');
    const quietDag = `quiet-${randomUUID()}`;
    await submitDag(t, quiet.key, {
      id: quietDag,
      name: 'quiet',
      jobs: [{ id: 'q', name: 'q', executor: EXEC, data: { out: ['quiet/a'] } }],
    });
    expect((await waitForDag(t, quiet.key, quietDag, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');
    const ok1 = `shape-${randomUUID()}`;
    await submitDag(t, a.key, {
      id: ok1,
      name: 'shape',
      jobs: [
        { id: 'first', name: 'first', executor: EXEC, data: { out: ['shape/a'] } },
        {
          id: 'second',
          name: 'second',
          executor: EXEC,
          dependencies: ['first'],
          retryLimit: 1,
          retryDelay: 0,
          data: { out: ['shape/b'], failTries: 1 },
        },
      ],
    });
    const failing = `shape-fail-${randomUUID()}`;
    await submitDag(t, a.key, {
      id: failing,
      name: 'shape-fail',
      jobs: [{ id: 'only', name: 'only', executor: EXEC, retryLimit: 0, data: { failTries: 5 } }],
    });
    const cancelled = `shape-cancel-${randomUUID()}`;
    await submitDag(t, a.key, {
      id: cancelled,
      name: 'shape-cancel',
      jobs: [{ id: 'hang', name: 'hang', executor: EXEC, data: { hang: true } }],
    });
    await waitFor(async () => (await jobOf(a.key, cancelled, 'hang'))?.state === 'ACTIVE');
    ok(await t.gql(`mutation ($id: ID!) { cancelDag(id: $id) { id } }`, { id: cancelled }, a.key));
    for (const id of [ok1, failing, cancelled]) await waitForDag(t, a.key, id, ['COMPLETED', 'FAILED', 'CANCELLED']);
    const last = (id: string, step: string) => async () => steps(eventsOf(a.tenantId, id)).at(-1) === step;
    await waitFor(last(ok1, 'shape COMPLETE'), 15_000, 'shape COMPLETE');
    await waitFor(last(failing, 'shape-fail FAIL'), 15_000, 'shape-fail FAIL');
    await waitFor(last(cancelled, 'shape-cancel ABORT'), 15_000, 'shape-cancel ABORT');

    // Every event passes our own ingest's validator (the 2-0-2 rules).
    for (const id of [ok1, failing, cancelled]) for (const e of eventsOf(a.tenantId, id)) validateEvent(e);

    const shape = eventsOf(a.tenantId, ok1);
    expect(steps(shape)).toEqual([
      'shape START',
      'shape.first START',
      'shape.first COMPLETE',
      'shape.second START',
      'shape.second FAIL',
      'shape.second START',
      'shape.second COMPLETE',
      'shape COMPLETE',
    ]);
    const dagRun = dagRunId(a.tenantId, ok1);
    expect(shape[0].run.runId).toBe(dagRun);
    expect(shape.every((e) => e.job.namespace === ns && e.producer && e.schemaURL)).toBe(true);
    for (const e of shape.slice(1, -1)) {
      expect(e.run.facets.parent).toMatchObject({ run: { runId: dagRun }, job: { namespace: ns, name: 'shape' } });
    }
    const second = await jobOf(a.key, ok1, 'second');
    const [, , , s1, f1, s2, c2] = shape;
    expect([s1.run.runId, f1.run.runId]).toEqual([attemptRunId(second!.id, 1), attemptRunId(second!.id, 1)]);
    expect([s2.run.runId, c2.run.runId]).toEqual([attemptRunId(second!.id, 2), attemptRunId(second!.id, 2)]);
    expect(f1.run.facets.errorMessage).toMatchObject({ message: 'boom on try 1' });
    // Outputs and inputs carry the versions recorded here.
    expect(c2.outputs).toEqual([
      expect.objectContaining({
        namespace: ns,
        name: 'shape/b',
        facets: { version: expect.objectContaining({ datasetVersion: V(`shape/b@${ok1}`) }) },
      }),
    ]);
    expect(c2.inputs.map((i) => [i.namespace, i.name, i.facets.version.datasetVersion])).toEqual([
      [ns, 'shape/a', V(`shape/a@${ok1}`)],
    ]);
    expect(shape[2].outputs.map((o) => o.name)).toEqual(['shape/a']);

    expect(steps(eventsOf(a.tenantId, failing))).toEqual([
      'shape-fail START',
      'shape-fail.only START',
      'shape-fail.only FAIL',
      'shape-fail FAIL',
    ]);
    expect(steps(eventsOf(a.tenantId, cancelled))).toEqual([
      'shape-cancel START',
      'shape-cancel.hang START',
      'shape-cancel.hang ABORT',
      'shape-cancel ABORT',
    ]);
    expect(receiver.unauthorized).toBe(0);
    expect(new Set(receiver.requests)).toEqual(new Set([1])); // one event a POST, as Marquez takes them
    // Emitted after the quiet tenant's run ended, in log order: it would have come first.
    expect(receiver.events.filter((e) => (e as OlEvent).job.namespace === `marie/${quiet.slug}`)).toEqual([]);
  });

  it('survives the receiver being down for 30 s: every event is delivered once it is back, in order per run', async () => {
    const c = await t.tenant('executor', TENANTS.down);
    const before = receiver.events.length;
    await receiver.down();
    const downAt = Date.now();
    const ids = [0, 1, 2].map((i) => `down-${i}-${randomUUID()}`);
    for (const [i, id] of ids.entries()) {
      await submitDag(t, c.key, {
        id,
        name: `down-${i}`,
        jobs: [
          { id: 'a', name: 'a', executor: EXEC, data: { out: [`down${i}/a`] } },
          {
            id: 'b',
            name: 'b',
            executor: EXEC,
            dependencies: ['a'],
            retryLimit: 1,
            retryDelay: 0,
            data: { out: [`down${i}/b`], failTries: i === 1 ? 1 : 0 },
          },
        ],
      });
    }
    for (const id of ids) expect((await waitForDag(t, c.key, id, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');
    // Down: nothing got through, and the emitter keeps trying with backoff.
    const emitter = t.app.services.openLineageEmitter!;
    await waitFor(async () => ((await emitter.state())?.failures ?? 0) >= 3, 10_000, 'failed tries');
    expect((await emitter.state())?.lastError).toMatch(/ECONNREFUSED|fetch failed|ECONNRESET/);
    expect(receiver.events.length).toBe(before);
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - downAt))));
    expect(receiver.events.length).toBe(before);
    await receiver.up();

    const expected = (i: number) => [
      `down-${i} START`,
      `down-${i}.a START`,
      `down-${i}.a COMPLETE`,
      `down-${i}.b START`,
      ...(i === 1 ? [`down-${i}.b FAIL`, `down-${i}.b START`] : []),
      `down-${i}.b COMPLETE`,
      `down-${i} COMPLETE`,
    ];
    await waitFor(
      async () => ids.every((id, i) => eventsOf(c.tenantId, id).length === expected(i).length),
      10_000,
      'every event delivered',
    );
    for (const [i, id] of ids.entries()) expect(steps(eventsOf(c.tenantId, id))).toEqual(expected(i));
    // Exactly those: nothing else of this tenant's came, and the emitter is caught up.
    const ofTenant = (receiver.events as OlEvent[]).filter((e) => e.job.namespace === `marie/${c.slug}`);
    expect(ofTenant.length).toBe([0, 1, 2].reduce((n, i) => n + expected(i).length, 0));
    // The round that delivered them commits its watermark, and the retry state is cleared.
    await waitFor(async () => (await emitter.state())?.failures === 0, 5_000, 'the retry state cleared');
    // The second tenant rebuilt the retried node's outputs too.
    const h = olHelpers(t);
    expect((await h.asset(b.key, baseKey(`marie/${c.slug}`, 'down1/b')))?.latest?.upstream).toEqual([
      expect.objectContaining({ assetKey: baseKey(`marie/${c.slug}`, 'down1/a') }),
    ]);
  }, 60_000);
});
