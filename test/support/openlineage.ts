import { ok, type TestApp } from './test-app';

/* OpenLineage events built from the 2-0-2 specification's rules, and the calls the OpenLineage tests share. */

export const PRODUCER = 'https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/spark';
export const RUN_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
export const DATASET_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent';
export const JOB_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent';

interface Ds {
  namespace: string;
  name: string;
  facets?: Record<string, unknown>;
}

export function runEvent(
  eventType: string,
  runId: string,
  job: { namespace: string; name: string },
  io: { inputs?: Ds[]; outputs?: Ds[]; runFacets?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return {
    eventType,
    eventTime: new Date().toISOString(),
    producer: PRODUCER,
    schemaURL: RUN_SCHEMA,
    run: { runId, facets: io.runFacets ?? {} },
    job: { ...job, facets: {} },
    inputs: io.inputs ?? [],
    outputs: io.outputs ?? [],
  };
}

export const versionFacet = (v: string) => ({
  version: {
    _producer: PRODUCER,
    _schemaURL: 'https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json',
    datasetVersion: v,
  },
});

const EVENTS = `query ($r: ID!) { openLineageEvents(runId: $r) }`;
const ASSET = `query ($k: String!) { asset(key: $k) { key tags openLineage { namespace name }
  latest { version dagId nodeTaskId isStale staleReasons { cause assetKey } upstream { assetKey version } } } }`;
export const LINEAGE = `query ($k: String!) { lineage(assetKey: $k, direction: UPSTREAM, depth: 10) { nodes { assetKey distance } } }`;

export interface AssetData {
  key: string;
  tags: Record<string, string> | null;
  openLineage: { namespace: string; name: string } | null;
  latest: {
    version: string;
    dagId: string | null;
    nodeTaskId: string | null;
    isStale: boolean;
    staleReasons: Array<{ cause: string; assetKey: string }>;
    upstream: Array<{ assetKey: string; version: string }>;
  } | null;
}
/** The calls the tests make against one test app. */
export function olHelpers(t: TestApp) {
  const base = t.url.replace('/graphql', '');
  const post = async (key: string, body: unknown, path = '/api/v1/lineage', raw = false) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: raw ? (body as string) : JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { stored?: number; error?: { code: string; path?: string } },
    };
  };

  const asset = async (key: string, k: string) => ok(await t.gql<{ asset: AssetData | null }>(ASSET, { k }, key)).asset;
  const events = async (key: string, r: string) =>
    ok(await t.gql<{ openLineageEvents: Array<Record<string, unknown>> }>(EVENTS, { r }, key)).openLineageEvents;
  const sql = async <T>(text: string, params: unknown[]): Promise<T[]> => {
    const out: T[] = await t.app.services.ds.query(text, params);
    return out;
  };
  const count = async (tenantId: string): Promise<number> => {
    const [r] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ol_events WHERE tenant_id = $1`, [tenantId]);
    return r.n;
  };
  return { post, asset, events, sql, count };
}
