import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitDag, waitForDag } from './support/dag-helpers';
import { activeJob, holdingExecutor, rowCounts } from './support/held-jobs';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

const hold = holdingExecutor();
let t: TestApp;
let key: string;
let tenantId: string;
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [hold.invoker] });
  ({ key, tenantId } = await t.tenant('executor'));
});
afterAll(async () => {
  hold.releaseAll();
  await t?.stop();
});

const RECORD = `mutation ($i: RecordMaterializationsInput!) { recordMaterializations(input: $i) { alreadyRecorded } }`;
const STATUS = `query ($d: ID!, $n: String!) { nodeStatus(dagId: $d, nodeTaskId: $n) { materializedAssets } }`;
const V = (c: string) => `v:sha256:${c.repeat(64)}`;
const asset = (k: string) => ({ assetKey: k, version: V('f') });

describe('recordings for a node of one of our DAGs are fenced to its current ACTIVE attempt', () => {
  it('refuses a recording without tryNumber or jobId after the node finished, and it does not count', async () => {
    const dagId = `fence-done-${randomUUID()}`;
    await submitDag(t, key, {
      id: dagId,
      name: 'fence',
      jobs: [{ id: 'a', name: 'a', executor: 'noop', assets: [{ key: 'fence/late' }] }],
    });
    await waitForDag(t, key, dagId, ['COMPLETED']);
    const before = await rowCounts(t, tenantId);
    const res = await t.gql(RECORD, { i: { dagId, nodeTaskId: 'a', assets: [asset('fence/late')] } }, key);
    expect(codeOf(res)).toBe('CONFLICT');
    expect(res.errors?.[0]?.message).toMatch(/tryNumber or jobId/);
    expect(await rowCounts(t, tenantId)).toEqual(before);
    const status = ok(await t.gql<{ nodeStatus: { materializedAssets: string[] } }>(STATUS, { d: dagId, n: 'a' }, key));
    expect(status.nodeStatus.materializedAssets).toEqual([]);
  });

  it('refuses a recording that names no attempt even while the node is ACTIVE', async () => {
    const held = await activeJob(t, key);
    const res = await t.gql(RECORD, { i: { dagId: held.dagId, nodeTaskId: 'a', assets: [asset('fence/none')] } }, key);
    expect(codeOf(res)).toBe('CONFLICT');
  });

  it('accepts the current attempt by its Job.id or its tryNumber, and refuses another job id or try', async () => {
    const held = await activeJob(t, key);
    const base = { dagId: held.dagId, nodeTaskId: held.taskId };
    expect(codeOf(await t.gql(RECORD, { i: { ...base, jobId: randomUUID(), assets: [asset('fence/x')] } }, key))).toBe(
      'CONFLICT',
    );
    expect(
      codeOf(await t.gql(RECORD, { i: { ...base, tryNumber: held.tryNumber + 1, assets: [asset('fence/x')] } }, key)),
    ).toBe('CONFLICT');
    expect(
      codeOf(
        await t.gql(
          RECORD,
          { i: { ...base, jobId: held.jobId, tryNumber: held.tryNumber + 1, assets: [asset('fence/x')] } },
          key,
        ),
      ),
    ).toBe('CONFLICT');
    ok(await t.gql(RECORD, { i: { ...base, jobId: held.jobId, assets: [asset('fence/by-job')] } }, key));
    ok(await t.gql(RECORD, { i: { ...base, tryNumber: held.tryNumber, assets: [asset('fence/by-try')] } }, key));
    const rows: Array<{ asset_key: string }> = await t.app.services.ds.query(
      `SELECT asset_key FROM materializations WHERE tenant_id::text = $1 AND dag_id = $2 ORDER BY asset_key`,
      [tenantId, held.dagId],
    );
    expect(rows.map((r) => r.asset_key)).toEqual(['fence/by-job', 'fence/by-try']);
  });

  it('accepts a recording without an attempt for a DAG that is not one of ours', async () => {
    const res = ok(
      await t.gql<{ recordMaterializations: { alreadyRecorded: number } }>(
        RECORD,
        { i: { dagId: `elsewhere-${randomUUID()}`, nodeTaskId: 'n', assets: [asset('fence/outside')] } },
        key,
      ),
    );
    expect(res.recordMaterializations.alreadyRecorded).toBe(0);
  });
});
