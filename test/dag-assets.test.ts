import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NonRetryableError, type ExecutorInvoker } from '../src/core/executor-call';
import { jobOf, submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { ok, startTestApp, type TestApp } from './support/test-app';

const V = (c: string) => `v:sha256:${c.repeat(64)}`;

/** A test executor: fails as non-retryable, returns too much, or reports progress and waits. */
const probe: ExecutorInvoker = {
  name: 'probe',
  concurrency: 4,
  async invoke(data, ctx) {
    const d = data as { mode: string };
    if (d.mode === 'bad-params') throw new NonRetryableError('parameter "dpi" must be a number');
    if (d.mode === 'huge') return 'x'.repeat(1024 * 1024 + 10);
    if (d.mode === 'nul') return { text: 'a\u0000b' }; // valid JSON that jsonb refuses
    if (d.mode === 'progress') {
      await ctx.progress(40, 'half way');
      await new Promise((r) => setTimeout(r, 800));
      return 'ok';
    }
    if (d.mode === 'upstream') return (await ctx.assets.upstream()).map((u) => `${u.nodeTaskId}:${u.assetKey}`).sort();
    return null;
  },
};

let t: TestApp;
let key: string;
let tenantId: string;
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [probe] });
  ({ key, tenantId } = await t.tenant('executor'));
});
afterAll(async () => {
  await t?.stop();
});

describe('jobs and assets', () => {
  it('records what noop materializes against its dag and node; node status, Job.materializations and the upstream look-up follow', async () => {
    const id = `assets-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'assets',
      jobs: [
        {
          id: 'ocr',
          name: 'ocr',
          executor: 'noop',
          assets: [
            { key: 'ocr/text', isPrimary: true },
            { key: 'ocr/bboxes' },
            { key: 'ocr/confidence', isRequired: false },
          ],
          data: {
            materialize: [
              { assetKey: 'ocr/text', version: V('a') },
              { assetKey: 'ocr/bboxes', version: V('b') },
            ],
          },
        },
        { id: 'look', name: 'upstream', executor: 'probe', dependencies: ['ocr'], data: { mode: 'upstream' } },
      ],
    });
    const d = await waitForDag(t, key, id, ['COMPLETED', 'FAILED']);
    expect(d.state).toBe('COMPLETED');
    expect(jobOf(d, 'look').output).toEqual(['ocr:ocr/bboxes', 'ocr:ocr/text']);
    const q = ok(
      await t.gql<{
        job: {
          assetStatus: Record<string, unknown>;
          materializations: Array<{ assetKey: string; dagId: string; nodeTaskId: string }>;
        };
      }>(
        `query ($d: ID!) { job(dagId: $d, taskId: "ocr") { assetStatus { expectedAssets requiredAssets materializedAssets missingRequiredAssets completionPercentage isComplete }
           materializations { assetKey dagId nodeTaskId } } }`,
        { d: id },
        key,
      ),
    );
    expect(q.job.assetStatus).toEqual({
      expectedAssets: ['ocr/bboxes', 'ocr/confidence', 'ocr/text'],
      requiredAssets: ['ocr/bboxes', 'ocr/text'],
      materializedAssets: ['ocr/bboxes', 'ocr/text'],
      missingRequiredAssets: [],
      completionPercentage: 100,
      isComplete: true,
    });
    expect(q.job.materializations.map((m) => m.assetKey).sort()).toEqual(['ocr/bboxes', 'ocr/text']);
    expect(q.job.materializations.every((m) => m.dagId === id && m.nodeTaskId === 'ocr')).toBe(true);
    const events: Array<{ type: string; payload: Record<string, unknown> }> = await t.app.services.ds.query(
      `SELECT type, payload FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND type = 'ASSET_MATERIALIZED' ORDER BY id, ord`,
      [tenantId, id],
    );
    expect(events.map((e) => e.payload.assetKey).sort()).toEqual(['ocr/bboxes', 'ocr/text']);
  });

  it('publishes an incomplete-assets finding at DAG end for a completed node that missed a required asset', async () => {
    const id = `incomplete-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'incomplete',
      jobs: [
        {
          id: 'classify',
          name: 'classify',
          executor: 'noop',
          assets: [{ key: 'classify/document_type' }, { key: 'classify/alternatives', isRequired: false }],
        },
      ],
    });
    await waitForDag(t, key, id, ['COMPLETED']);
    const events: Array<{
      payload: { incompleteNodes: Array<{ nodeTaskId: string; missingRequiredAssets: string[] }> };
    }> = await t.app.services.ds.query(
      `SELECT payload FROM event_log_events WHERE tenant_id = $1 AND dag_id = $2 AND type = 'ASSETS_INCOMPLETE'`,
      [tenantId, id],
    );
    expect(events).toHaveLength(1);
    expect(events[0].payload.incompleteNodes).toMatchObject([
      { nodeTaskId: 'classify', missingRequiredAssets: ['classify/document_type'] },
    ]);
  });

  it('refuses a recording by an attempt that is not current', async () => {
    const id = `stale-rec-${randomUUID()}`;
    await submitDag(t, key, { id, name: 'stale', jobs: [{ id: 'a', name: 'a', executor: 'noop' }] });
    await waitForDag(t, key, id, ['COMPLETED']);
    const res = await t.gql(
      `mutation ($i: RecordMaterializationsInput!) { recordMaterializations(input: $i) { alreadyRecorded } }`,
      { i: { dagId: id, nodeTaskId: 'a', tryNumber: 1, assets: [{ assetKey: 'late/asset', version: V('c') }] } },
      key,
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(ok(await t.gql<{ asset: unknown }>(`{ asset(key: "late/asset") { key } }`, {}, key)).asset).toBeNull();
  });
});

describe('executor outcomes', () => {
  it('fails a non-retryable attempt at once despite retries left, and an oversized or unstorable output the same way', async () => {
    const id = `nonretry-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'nonretry',
      jobs: [
        { id: 'bad', name: 'bad', executor: 'probe', retryLimit: 3, data: { mode: 'bad-params' } },
        { id: 'huge', name: 'huge', executor: 'probe', retryLimit: 3, data: { mode: 'huge' } },
        { id: 'nul', name: 'nul', executor: 'probe', retryLimit: 3, data: { mode: 'nul' } },
      ],
    });
    const d = await waitForDag(t, key, id, ['FAILED', 'COMPLETED']);
    expect(jobOf(d, 'bad')).toMatchObject({ state: 'FAILED', tryNumber: 1, error: 'parameter "dpi" must be a number' });
    expect(jobOf(d, 'huge').state).toBe('FAILED');
    expect(jobOf(d, 'huge').tryNumber).toBe(1);
    expect(jobOf(d, 'huge').error).toMatch(/at most 1 MiB/);
    // An output Postgres cannot store fails the job at once instead of leaving it ACTIVE to be rerun forever.
    expect(jobOf(d, 'nul')).toMatchObject({ state: 'FAILED', tryNumber: 1 });
    expect(jobOf(d, 'nul').error).toMatch(/output could not be stored/);
  });

  it('shows what the executor reports of its running attempt in Job.progressPercent', async () => {
    const id = `progress-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'progress',
      jobs: [{ id: 'p', name: 'p', executor: 'probe', data: { mode: 'progress' } }],
    });
    const seen = await waitFor(
      async () => {
        const j = ok(
          await t.gql<{ job: { progressPercent: number | null; progressMessage: string | null; state: string } }>(
            `query ($d: ID!) { job(dagId: $d, taskId: "p") { state progressPercent progressMessage } }`,
            { d: id },
            key,
          ),
        ).job;
        return j.progressPercent === 40 ? j : null;
      },
      10_000,
      'progress 40',
    );
    expect(seen).toMatchObject({ state: 'ACTIVE', progressMessage: 'half way' });
    await waitForDag(t, key, id, ['COMPLETED']);
  });
});

describe('scheduling', () => {
  it('holds a job until its startAfter', async () => {
    const id = `later-${randomUUID()}`;
    const startAfter = new Date(Date.now() + 1200);
    await submitDag(t, key, {
      id,
      name: 'later',
      jobs: [{ id: 'a', name: 'a', executor: 'noop', startAfter: startAfter.toISOString() }],
    });
    const d = await waitForDag(t, key, id, ['COMPLETED']);
    const rows: Array<{ started_at: Date }> = await t.app.services.ds.query(
      `SELECT started_at FROM jobs WHERE tenant_id = $1 AND dag_id = $2`,
      [tenantId, id],
    );
    expect(d.state).toBe('COMPLETED');
    expect(rows[0].started_at.getTime()).toBeGreaterThanOrEqual(startAfter.getTime() - 5);
  });

  it('purges a finished DAG after the latest keepUntil of its jobs; its materializations stay', async () => {
    const id = `purge-${randomUUID()}`;
    const keepUntil = new Date(Date.now() + 800).toISOString();
    await submitDag(t, key, {
      id,
      name: 'purge',
      jobs: [
        {
          id: 'a',
          name: 'a',
          executor: 'noop',
          keepUntil,
          data: { materialize: [{ assetKey: 'purge/kept', version: V('d') }] },
        },
      ],
    });
    await waitForDag(t, key, id, ['COMPLETED']);
    const jobIds = (
      await t.app.services.ds.query<Array<{ id: string }>>(`SELECT id FROM jobs WHERE tenant_id = $1 AND dag_id = $2`, [
        tenantId,
        id,
      ])
    ).map((r) => r.id);
    const attemptsOf = async () =>
      Number(
        (
          await t.app.services.ds.query<Array<{ n: string }>>(
            `SELECT count(*) AS n FROM job_attempts WHERE job_id = ANY($1::uuid[])`,
            [jobIds],
          )
        )[0].n,
      );
    expect(await attemptsOf()).toBe(1);
    await waitFor(async () => (await dagSnapshotOrNull(id)) === null, 10_000, 'DAG purged');
    // Its attempt rows go with it (job_attempts has no foreign key to cascade from).
    expect(await attemptsOf()).toBe(0);
    const m = ok(
      await t.gql<{ asset: { latest: { version: string; dagId: string } } }>(
        `{ asset(key: "purge/kept") { latest { version dagId } } }`,
        {},
        key,
      ),
    );
    expect(m.asset.latest).toEqual({ version: V('d'), dagId: id });
  });
});

async function dagSnapshotOrNull(id: string) {
  const r = await t.gql<{ dag: unknown }>(`query ($id: ID!) { dag(id: $id) { id } }`, { id }, key);
  return ok(r).dag;
}

describe('node status of DAG jobs', () => {
  it('nodeStatus and dagAssetStatus cover every job of one of our DAGs, also those that expect nothing', async () => {
    const id = `nodes-${randomUUID()}`;
    await submitDag(t, key, {
      id,
      name: 'nodes',
      jobs: [
        { id: 'plain', name: 'plain', executor: 'noop' },
        { id: 'expects', name: 'expects', executor: 'noop', dependencies: ['plain'], assets: [{ key: 'x/y' }] },
      ],
    });
    await waitForDag(t, key, id, ['COMPLETED']);
    const r = ok(
      await t.gql<{
        nodeStatus: { isComplete: boolean; completionPercentage: number };
        missing: unknown;
        dagAssetStatus: Array<{ nodeTaskId: string; isComplete: boolean }>;
      }>(
        `query ($d: ID!) { nodeStatus(dagId: $d, nodeTaskId: "plain") { isComplete completionPercentage }
           missing: nodeStatus(dagId: $d, nodeTaskId: "nope") { isComplete }
           dagAssetStatus(dagId: $d) { nodeTaskId isComplete missingRequiredAssets } }`,
        { d: id },
        key,
      ),
    );
    expect(r.nodeStatus).toEqual({ isComplete: true, completionPercentage: 100 });
    expect(r.missing).toBeNull();
    expect(r.dagAssetStatus).toEqual([
      { nodeTaskId: 'expects', isComplete: false, missingRequiredAssets: ['x/y'] },
      { nodeTaskId: 'plain', isComplete: true, missingRequiredAssets: [] },
    ]);
  });
});
