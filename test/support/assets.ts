import { computeAssetVersion } from '../../src/core/asset-version';
import type { MaterializationView } from '../../src/services/assets/asset-views';
import type { RecordMaterializationsArgs } from '../../src/services/assets/record-materializations.input';
import type { TestApp } from './test-app';

/** A content version of a string, as executors make them. */
export const ver = (content: string): string => computeAssetVersion({ payload: content });

/** Record through the service (fast set-up for lineage and staleness tests). */
export async function record(
  t: TestApp,
  tenantId: string,
  input: Partial<RecordMaterializationsArgs> & { assets: RecordMaterializationsArgs['assets'] },
): Promise<MaterializationView[]> {
  return (await t.app.services.materializations.record(tenantId, input)).materializations;
}

/** Record one asset version with its upstream (key → the materialization it used). */
export async function one(
  t: TestApp,
  tenantId: string,
  key: string,
  content: string,
  upstream: MaterializationView[] = [],
  extra: Partial<RecordMaterializationsArgs['assets'][number]> & {
    dagId?: string;
    nodeTaskId?: string;
    jobId?: string;
  } = {},
): Promise<MaterializationView> {
  const { dagId, nodeTaskId, jobId, ...asset } = extra;
  const [m] = await record(t, tenantId, {
    dagId,
    nodeTaskId,
    jobId,
    assets: [{ assetKey: key, version: ver(content), ...asset }],
    upstreamAssets: upstream.map((u) => ({ assetKey: u.assetKey, version: u.version, partitionKey: u.partitionKey })),
  });
  if (!m) throw new Error('nothing recorded');
  return m;
}

export const RECORD = `mutation ($i: RecordMaterializationsInput!) {
  recordMaterializations(input: $i) { alreadyRecorded materializations { id assetKey version partitionKey checksum } }
}`;

export interface RecordPayload {
  recordMaterializations: {
    alreadyRecorded: number;
    materializations: Array<{
      id: string;
      assetKey: string;
      version: string;
      partitionKey: string | null;
      checksum: string | null;
    }>;
  };
}
