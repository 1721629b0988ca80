import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config';
import type { LoggedEvent } from '../src/core/events';
import { attemptRunId, buildRunEvent, dagRunId, plan } from '../src/services/openlineage/ol-emit-events';
import { validateEvent } from '../src/services/openlineage/ol-validate';

/* Which RunEvents each entry of the event log becomes, and the run ids they carry (no I/O). */

const T = '11111111-2222-3333-4444-555555555555';
const at = '2026-01-01T00:00:00.000Z';
const progress = { total: 1, pending: 0, active: 0, completed: 1, failed: 0, skipped: 0, cached: 0, percent: 100 };
const base = { position: '1', tenantId: T, dagId: 'd1', createdAt: at };
const dag = (state: string, previousState: string | null): LoggedEvent =>
  ({ ...base, type: 'DAG', payload: { dagId: 'd1', name: 'n', state, previousState, progress, at } }) as LoggedEvent;
const job = (previousState: string, state: string, tryNumber: number, extra: Record<string, unknown> = {}) =>
  ({
    ...base,
    type: 'JOB',
    payload: { dagId: 'd1', jobId: 'j1', taskId: 't1', name: 't1', state, previousState, tryNumber, at, ...extra },
  }) as LoggedEvent;
const what = (e: LoggedEvent) => plan(e).map((p) => `${p.eventType}${p.attempt ? `#${p.attempt.tryNumber}` : ''}`);

describe('OpenLineage out: the plan', () => {
  it('maps DAG transitions: START at submission, RUNNING when reopened, COMPLETE / FAIL / ABORT at the end', () => {
    expect(what(dag('CREATED', null))).toEqual(['START']);
    expect(what(dag('ACTIVE', 'CREATED'))).toEqual([]);
    expect(what(dag('ACTIVE', 'FAILED'))).toEqual(['RUNNING']);
    expect(what(dag('COMPLETED', 'ACTIVE'))).toEqual(['COMPLETE']);
    expect(what(dag('FAILED', 'ACTIVE'))).toEqual(['FAIL']);
    expect(what(dag('CANCELLED', 'CREATED'))).toEqual(['ABORT']);
  });

  it('maps attempts: START, then COMPLETE, FAIL (of the try that ran) or ABORT; a requeue or a skip sends nothing', () => {
    expect(what(job('CREATED', 'ACTIVE', 1))).toEqual(['START#1']);
    expect(what(job('ACTIVE', 'COMPLETED', 1))).toEqual(['COMPLETE#1']);
    expect(what(job('ACTIVE', 'RETRY', 2, { error: 'boom' }))).toEqual(['FAIL#1']);
    expect(what(job('ACTIVE', 'RETRY', 1, { requeued: true }))).toEqual([]);
    expect(what(job('ACTIVE', 'FAILED', 3, { error: 'boom' }))).toEqual(['FAIL#3']);
    expect(what(job('ACTIVE', 'EXPIRED', 2))).toEqual(['FAIL#2']);
    expect(what(job('ACTIVE', 'CANCELLED', 1))).toEqual(['ABORT#1']);
    expect(what(job('CREATED', 'CANCELLED', 1))).toEqual([]);
    expect(what(job('CREATED', 'SKIPPED', 1))).toEqual([]);
    expect(what(job('FAILED', 'RETRY', 2))).toEqual([]);
    // A completion that no start of ours preceded still opens its run.
    expect(what(job('CREATED', 'COMPLETED', 1))).toEqual(['START#1', 'COMPLETE#1']);
  });

  it('derives stable UUID run ids: a UUID DAG id as is, others by tenant and id; attempts by job and try', () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const id = 'AAAAAAAA-bbbb-4ccc-8ddd-eeeeeeeeeeee';
    expect(dagRunId(T, id)).toBe(id.toLowerCase());
    expect(dagRunId(T, 'nightly')).toMatch(uuid);
    expect(dagRunId(T, 'nightly')).toBe(dagRunId(T, 'nightly'));
    expect(dagRunId(T, 'nightly')).not.toBe(dagRunId('99999999-2222-3333-4444-555555555555', 'nightly'));
    expect(attemptRunId('j1', 1)).toMatch(uuid);
    expect(attemptRunId('j1', 1)).not.toBe(attemptRunId('j1', 2));
  });

  it('builds events our own ingest validates, with the parent facet and version facets', () => {
    const [p] = plan(job('ACTIVE', 'FAILED', 1, { error: 'boom' }));
    const io = {
      inputs: [{ namespace: 's3://raw', name: '/in.pdf', version: 'v:sha256:aa' }],
      outputs: [{ namespace: 'marie/acme', name: 'ocr/text', version: 'v:sha256:bb' }],
    };
    const e = buildRunEvent(p, { namespace: 'marie/acme', dagName: 'docs' }, io);
    const v = validateEvent(e);
    expect(v.parent).toEqual({ runId: dagRunId(T, 'd1'), namespace: 'marie/acme', name: 'docs' });
    expect(v.job).toMatchObject({ namespace: 'marie/acme', name: 'docs.t1' });
    expect(v.eventType).toBe('FAIL');
    expect(v.runFacets.errorMessage).toMatchObject({ message: 'boom' });
    expect(v.inputs[0].facets.version).toMatchObject({ datasetVersion: 'v:sha256:aa' });
    expect(v.outputs[0]).toMatchObject({ namespace: 'marie/acme', name: 'ocr/text' });
  });

  it('reads its settings: off without OPENLINEAGE_URL, arrays for a /batch endpoint, tenants, no credentials in the URL', () => {
    const cfg = (env: Record<string, string>) =>
      loadConfig({}, { ATTEMPT_TOKEN_SECRET: 'x'.repeat(32), ...env }).openLineage;
    expect(cfg({})).toBeNull();
    expect(cfg({ OPENLINEAGE_URL: 'http://marquez:5000/' })).toMatchObject({
      endpointUrl: 'http://marquez:5000/api/v1/lineage',
      batch: false,
      namespace: 'marie',
      tenants: null,
    });
    expect(
      cfg({
        OPENLINEAGE_URL: 'https://m.example',
        OPENLINEAGE_ENDPOINT: '/api/v1/lineage/batch',
        OPENLINEAGE_TENANTS: 'acme, beta',
        OPENLINEAGE_RETRY_BASE_MS: '5000',
        OPENLINEAGE_RETRY_MAX_MS: '100',
      }),
    ).toMatchObject({
      endpointUrl: 'https://m.example/api/v1/lineage/batch',
      batch: true,
      tenants: ['acme', 'beta'],
      retryMaxMs: 5000,
    });
    expect(() => cfg({ OPENLINEAGE_URL: 'http://user:secret@marquez:5000' })).toThrow(/OPENLINEAGE_URL.*credentials/);
    expect(() => cfg({ OPENLINEAGE_URL: 'marquez:5000' })).toThrow(/OPENLINEAGE_URL/);
  });
});
