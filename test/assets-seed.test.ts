import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Loaders } from '../src/loaders';
import { materializationsByNodeLoader } from '../src/loaders/materializations-by-node.loader';
import { nodeAssetStatusLoader } from '../src/loaders/node-asset-status.loader';
import { nodeKey } from '../src/loaders/node-key';
import { normalizeAssetConfig } from '../src/services/assets/asset-expectation.service';
import { RECORD, ver, type RecordPayload } from './support/assets';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

describe('normalizeAssetConfig', () => {
  it("accepts the seed's asset_config shorthands and the camelCase objects", () => {
    const req = { kind: null, isPrimary: false, isRequired: true };
    expect(normalizeAssetConfig('ocr/text')).toEqual([{ key: 'ocr/text', ...req }]);
    expect(normalizeAssetConfig(['a/b', 'a/c'])).toEqual([
      { key: 'a/b', ...req },
      { key: 'a/c', ...req },
    ]);
    expect(
      normalizeAssetConfig({
        assets: [
          { key: 'x/p', kind: 'text', is_primary: true },
          { key: 'x/o', is_required: false },
        ],
      }),
    ).toEqual([
      { key: 'x/p', kind: 'text', isPrimary: true, isRequired: true },
      { key: 'x/o', kind: null, isPrimary: false, isRequired: false },
    ]);
    expect(normalizeAssetConfig([{ key: 'y/z', isPrimary: true, isRequired: false }])).toEqual([
      { key: 'y/z', kind: null, isPrimary: true, isRequired: false },
    ]);
    expect(normalizeAssetConfig(null)).toEqual([]);
  });

  it('refuses bad ones with BAD_USER_INPUT naming the field', () => {
    const fieldOf = (config: unknown): unknown => {
      try {
        normalizeAssetConfig(config, 'input.jobs[2].assets');
      } catch (err) {
        return (err as { code: string; details: { field: string } }).code === 'BAD_USER_INPUT'
          ? (err as { details: { field: string } }).details.field
          : err;
      }
      return 'accepted';
    };
    expect(fieldOf('bad key')).toBe('input.jobs[2].assets');
    expect(fieldOf(['ok/a', 'bad key'])).toBe('input.jobs[2].assets[1]');
    expect(fieldOf({ assets: [{ key: 'a/b', is_required: 'yes' }] })).toBe('input.jobs[2].assets.assets[0].isRequired');
    expect(fieldOf({ assets: 'a/b' })).toBe('input.jobs[2].assets.assets');
    expect(fieldOf(['a/b', 'a/b'])).toBe('input.jobs[2].assets[1]');
    expect(fieldOf(42)).toBe('input.jobs[2].assets');
  });
});

describe('the seed pipeline, end to end', () => {
  it('tracks OCR, classifier and claims assets, node status, impact, debugging, cache and summary', async () => {
    const ex = await t.tenant('executor');
    const dagId = 'claims-dag-1';
    const services = t.app.services;
    // What submitDag will do: store each node's expected assets in its transaction.
    await services.ds.transaction((manager) =>
      services.expectations.declare(manager, ex.tenantId, dagId, [
        {
          nodeTaskId: 'ocr',
          assets: normalizeAssetConfig({
            assets: [
              { key: 'ocr/text', kind: 'text', is_primary: true },
              { key: 'ocr/bboxes', kind: 'bbox' },
              { key: 'ocr/confidence', kind: 'metadata' },
            ],
          }),
        },
        {
          nodeTaskId: 'classify',
          assets: normalizeAssetConfig({
            assets: [
              { key: 'classify/document_type', kind: 'classification', is_primary: true },
              { key: 'classify/tables', is_required: false },
              { key: 'classify/signatures', is_required: false },
            ],
          }),
        },
        {
          nodeTaskId: 'extract',
          assets: normalizeAssetConfig([
            'extract/claims',
            'extract/headers',
            'extract/service_lines',
            'extract/metadata',
          ]),
        },
        { nodeTaskId: 'store', assets: normalizeAssetConfig('store/result') },
      ]),
    );

    const rec = async (input: Record<string, unknown>) =>
      ok(await t.gql<RecordPayload>(RECORD, { i: input }, ex.key)).recordMaterializations.materializations;
    const [docM] = await rec({
      storageEventId: 'upload-1',
      assets: [{ assetKey: 'document/claim_form', version: ver('pdf') }],
    });
    const doc = { assetKey: 'document/claim_form', version: docM?.version };
    // The OCR executor: three assets, lineage to the document.
    const ocr = await rec({
      dagId,
      nodeTaskId: 'ocr',
      jobId: 'job-ocr',
      tryNumber: 1,
      assets: [
        { assetKey: 'ocr/text', version: ver('text'), kind: 'text', checksum: 'c-text', codeFingerprint: 'git:ocr1' },
        { assetKey: 'ocr/bboxes', version: ver('boxes'), kind: 'bbox', sizeBytes: 2048 },
        { assetKey: 'ocr/confidence', version: ver('0.97'), kind: 'metadata', metadata: { mean: 0.97 } },
      ],
      upstreamAssets: [doc],
    });
    const text = ocr[0];
    // The classifier: its required asset only (the optional ones depend on the document).
    await rec({
      dagId,
      nodeTaskId: 'classify',
      jobId: 'job-classify',
      assets: [{ assetKey: 'classify/document_type', version: ver('CMS-1500'), kind: 'classification' }],
      upstreamAssets: [{ assetKey: 'ocr/text', version: text?.version }],
    });
    // The claims extractor: three of its four assets.
    const extract = await rec({
      dagId,
      nodeTaskId: 'extract',
      jobId: 'job-extract',
      assets: [
        { assetKey: 'extract/claims', version: ver('claims'), kind: 'json', checksum: 'c-claims' },
        { assetKey: 'extract/headers', version: ver('headers'), kind: 'json' },
        { assetKey: 'extract/service_lines', version: ver('lines'), kind: 'table' },
      ],
      upstreamAssets: [
        { assetKey: 'ocr/text', version: text?.version },
        { assetKey: 'ocr/bboxes', version: ocr[1]?.version },
        { assetKey: 'classify/document_type', version: ver('CMS-1500') },
      ],
    });

    const q = `query ($d: ID!) {
      ocr: nodeStatus(dagId: $d, nodeTaskId: "ocr") { ...S }
      classify: nodeStatus(dagId: $d, nodeTaskId: "classify") { ...S }
      extract: nodeStatus(dagId: $d, nodeTaskId: "extract") { ...S }
      nobody: nodeStatus(dagId: $d, nodeTaskId: "nobody") { ...S }
      all: dagAssetStatus(dagId: $d) { nodeTaskId isComplete completionPercentage missingRequiredAssets }
    } fragment S on NodeAssetStatus {
      dagId nodeTaskId expectedAssets requiredAssets materializedAssets missingRequiredAssets completionPercentage isComplete
    }`;
    type St = Record<string, unknown>;
    const st = ok(await t.gql<Record<string, St | St[] | null>>(q, { d: dagId }, ex.key));
    expect(st.ocr).toEqual({
      dagId,
      nodeTaskId: 'ocr',
      expectedAssets: ['ocr/bboxes', 'ocr/confidence', 'ocr/text'],
      requiredAssets: ['ocr/bboxes', 'ocr/confidence', 'ocr/text'],
      materializedAssets: ['ocr/bboxes', 'ocr/confidence', 'ocr/text'],
      missingRequiredAssets: [],
      completionPercentage: 100,
      isComplete: true,
    });
    expect(st.classify).toMatchObject({
      requiredAssets: ['classify/document_type'],
      materializedAssets: ['classify/document_type'],
      missingRequiredAssets: [],
      completionPercentage: 100,
      isComplete: true,
    });
    expect(st.extract).toMatchObject({
      missingRequiredAssets: ['extract/metadata'],
      completionPercentage: 75,
      isComplete: false,
    });
    expect(st.nobody).toBeNull();
    expect(st.all).toEqual([
      { nodeTaskId: 'classify', isComplete: true, completionPercentage: 100, missingRequiredAssets: [] },
      {
        nodeTaskId: 'extract',
        isComplete: false,
        completionPercentage: 75,
        missingRequiredAssets: ['extract/metadata'],
      },
      { nodeTaskId: 'ocr', isComplete: true, completionPercentage: 100, missingRequiredAssets: [] },
      { nodeTaskId: 'store', isComplete: false, completionPercentage: 0, missingRequiredAssets: ['store/result'] },
    ]);

    // The monitoring check: incomplete nodes with what they miss; a node with no expectations is complete.
    const incomplete = await services.nodeStatus.incompleteNodes(ex.tenantId, dagId, [
      'ocr',
      'extract',
      'store',
      'free',
    ]);
    expect(incomplete.map((s) => [s.nodeTaskId, s.missingRequiredAssets])).toEqual([
      ['extract', ['extract/metadata']],
      ['store', ['store/result']],
    ]);
    const [free] = await services.nodeStatus.forNodes(ex.tenantId, dagId, ['free']);
    expect(free).toMatchObject({ isComplete: true, completionPercentage: 100, expectedAssets: [] });

    // Impact analysis of the OCR text.
    const impact = ok(
      await t.gql<{
        impact: { downstreamCount: number; downstreamAssets: string[]; affectedMaterializations: number };
      }>('{ impact(assetKey: "ocr/text") { downstreamCount downstreamAssets affectedMaterializations } }', {}, ex.key),
    ).impact;
    expect(impact.downstreamAssets).toEqual([
      'classify/document_type',
      'extract/claims',
      'extract/headers',
      'extract/service_lines',
    ]);
    expect(impact.downstreamCount).toBe(4);
    expect(impact.affectedMaterializations).toBe(4);

    // A new OCR model: the old text is CODE_CHANGED, the claims built on it are stale.
    await rec({
      dagId: 'claims-dag-2',
      nodeTaskId: 'ocr',
      assets: [{ assetKey: 'ocr/text', version: ver('text v2'), codeFingerprint: 'git:ocr2' }],
      upstreamAssets: [doc],
    });
    // Debugging a bad version: where it came from and which inputs are stale.
    const dbg = `query ($v: String!) { materializationByVersion(assetKey: "extract/claims", version: $v) {
      id jobId dagId nodeTaskId checksum isStale staleReasons { cause assetKey }
      upstream { assetKey version materialization { jobId isStale staleReasons { cause } } }
      asset { key kind }
    } }`;
    const bad = ok(
      await t.gql<{
        materializationByVersion: Record<string, unknown> & {
          staleReasons: unknown[];
          upstream: Array<{ assetKey: string; materialization: { isStale: boolean } }>;
        };
      }>(dbg, { v: ver('claims') }, ex.key),
    ).materializationByVersion;
    expect(bad).toMatchObject({
      id: extract[0]?.id,
      jobId: 'job-extract',
      dagId,
      nodeTaskId: 'extract',
      checksum: 'c-claims',
      isStale: true,
      asset: { key: 'extract/claims', kind: 'json' },
    });
    expect(bad.staleReasons).toEqual([
      { cause: 'UPSTREAM_STALE', assetKey: 'classify/document_type' },
      { cause: 'UPSTREAM_CHANGED', assetKey: 'ocr/text' },
      { cause: 'UPSTREAM_STALE', assetKey: 'ocr/text' },
    ]);
    const staleInputs = bad.upstream.filter((u) => u.materialization.isStale).map((u) => u.assetKey);
    expect(staleInputs).toEqual(['classify/document_type', 'ocr/text']);
    expect(bad.upstream.find((u) => u.assetKey === 'ocr/text')?.materialization).toEqual({
      jobId: 'job-ocr',
      isStale: true,
      staleReasons: [{ cause: 'CODE_CHANGED' }],
    });

    // The cache look-up.
    const cache = `query ($k: String!, $v: String!, $p: String) { materializationByVersion(assetKey: $k, version: $v, partitionKey: $p) { id } }`;
    const hit = ok(
      await t.gql<{ materializationByVersion: { id: string } | null }>(
        cache,
        { k: 'ocr/bboxes', v: ver('boxes') },
        ex.key,
      ),
    );
    expect(hit.materializationByVersion?.id).toBe(ocr[1]?.id);
    const miss = ok(
      await t.gql<{ materializationByVersion: null }>(cache, { k: 'ocr/bboxes', v: ver('other') }, ex.key),
    );
    expect(miss.materializationByVersion).toBeNull();
    const wrongPartition = ok(
      await t.gql<{ materializationByVersion: null }>(cache, { k: 'ocr/bboxes', v: ver('boxes'), p: 'page-9' }, ex.key),
    );
    expect(wrongPartition.materializationByVersion).toBeNull();

    // The dashboard summary.
    const summary = ok(
      await t.gql<{ assetSummary: Array<Record<string, unknown>> }>(
        '{ assetSummary(sinceHours: 1, first: 3) { assetKey kind materializationCount dagCount lastMaterializedAt } }',
        {},
        ex.key,
      ),
    ).assetSummary;
    expect(summary).toHaveLength(3);
    expect(summary[0]).toMatchObject({ assetKey: 'ocr/text', kind: 'text', materializationCount: 2, dagCount: 2 });
    expect(typeof summary[0]?.lastMaterializedAt).toBe('string');
    expect(summary.slice(1).map((s) => s.materializationCount)).toEqual([1, 1]);
    expect(codeOf(await t.gql('{ assetSummary(sinceHours: 0) { assetKey } }', {}, ex.key))).toBe('BAD_USER_INPUT');

    // The DAG engine's loaders: one statement for a batch of nodes.
    const loaders = new Loaders(services, {
      tenantId: ex.tenantId,
      tenantSlug: ex.slug,
      role: 'reader',
      apiKeyId: 'x',
      apiKeyName: 'x',
    });
    const before = services.sql.total;
    const [statuses, mats] = await Promise.all([
      Promise.all(['ocr', 'extract', 'store'].map((n) => nodeAssetStatusLoader(loaders).load(nodeKey(dagId, n)))),
      Promise.all(
        ['ocr', 'extract', 'store'].map((n) => materializationsByNodeLoader(loaders).load(nodeKey(dagId, n))),
      ),
    ]);
    expect(services.sql.total - before).toBe(2);
    expect(statuses.map((s) => s.isComplete)).toEqual([true, false, false]);
    expect(mats.map((m) => m.map((x) => x.assetKey))).toEqual([
      ['ocr/text', 'ocr/bboxes', 'ocr/confidence'],
      ['extract/claims', 'extract/headers', 'extract/service_lines'],
      [],
    ]);
  });
});

describe('tenant isolation', () => {
  it("reads another tenant's assets, materializations and nodes as absent", async () => {
    const a = await t.tenant('executor');
    const b = await t.tenant('executor');
    const [m] = (
      await t.app.services.materializations.record(a.tenantId, {
        dagId: 'shared-dag',
        nodeTaskId: 'n1',
        assets: [{ assetKey: 'secret/x', version: 'v1', checksum: 'a' }],
        upstreamAssets: [{ assetKey: 'secret/in', version: 'u1' }],
      })
    ).materializations;
    await t.app.services.ds.transaction((manager) =>
      t.app.services.expectations.declare(manager, a.tenantId, 'shared-dag', [
        { nodeTaskId: 'n1', assets: [{ key: 'secret/x' }] },
      ]),
    );
    const q = `query ($id: ID!) {
      asset(key: "secret/x") { key }
      assets { totalCount edges { node { key } } }
      materialization(id: $id) { id }
      materializationByVersion(assetKey: "secret/x", version: "v1") { id }
      assetSummary { assetKey }
      nodeStatus(dagId: "shared-dag", nodeTaskId: "n1") { isComplete }
      dagAssetStatus(dagId: "shared-dag") { nodeTaskId }
    }`;
    const seenByA = ok(await t.gql<Record<string, unknown>>(q, { id: m?.id }, a.key));
    expect(seenByA.asset).toEqual({ key: 'secret/x' });
    expect(seenByA.nodeStatus).toEqual({ isComplete: true });
    const seenByB = ok(await t.gql<Record<string, unknown>>(q, { id: m?.id }, b.key));
    expect(seenByB).toEqual({
      asset: null,
      assets: { totalCount: 0, edges: [] },
      materialization: null,
      materializationByVersion: null,
      assetSummary: [],
      nodeStatus: null,
      dagAssetStatus: [],
    });
    for (const query of [
      '{ lineage(assetKey: "secret/x") { assetKey } }',
      '{ impact(assetKey: "secret/x") { assetKey } }',
    ]) {
      expect(codeOf(await t.gql(query, {}, b.key))).toBe('NOT_FOUND');
    }
    // B's own identical record neither conflicts with A's nor links to it.
    const [mb] = (
      await t.app.services.materializations.record(b.tenantId, {
        dagId: 'shared-dag',
        nodeTaskId: 'n1',
        assets: [{ assetKey: 'secret/x', version: 'v1', checksum: 'b' }],
      })
    ).materializations;
    expect(mb?.id).not.toBe(m?.id);
    const rel = `query ($id: ID!) { materialization(id: $id) { downstream { totalCount } upstream { assetKey } } asset(key: "secret/x") { upstream { key } materializations { totalCount } } }`;
    expect(ok(await t.gql(rel, { id: mb?.id }, b.key))).toEqual({
      materialization: { downstream: { totalCount: 0 }, upstream: [] },
      asset: { upstream: [], materializations: { totalCount: 1 } },
    });
    const loaders = new Loaders(t.app.services, {
      tenantId: b.tenantId,
      tenantSlug: b.slug,
      role: 'reader',
      apiKeyId: 'x',
      apiKeyName: 'x',
    });
    expect((await nodeAssetStatusLoader(loaders).load(nodeKey('shared-dag', 'n1'))).expectedAssets).toEqual([]);
    expect(await t.app.services.materializations.latestForUpstreamNodes(b.tenantId, 'shared-dag', ['n1'])).toHaveLength(
      1,
    );
    expect(await t.app.services.nodeStatus.forNodes(b.tenantId, 'shared-dag')).toEqual([
      {
        dagId: 'shared-dag',
        nodeTaskId: 'n1',
        expectedAssets: [],
        requiredAssets: [],
        materializedAssets: [],
        missingRequiredAssets: [],
        completionPercentage: 100,
        isComplete: true,
      },
    ]);
  });
});
