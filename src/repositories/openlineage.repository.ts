import { rows, type SqlRunner } from '../db/sql';

/** A raw OpenLineage event to append. */
export interface OlEventRow {
  kind: 'RUN' | 'DATASET' | 'JOB';
  runId: string | null;
  eventType: string | null;
  eventTime: Date;
  payload: string;
}

/** The state an OpenLineage run's events add up to (facets merged, inputs and outputs summed). */
export interface OlRunState {
  runId: string;
  jobNamespace: string;
  jobName: string;
  parentRunId: string | null;
  parentJobNamespace: string | null;
  parentJobName: string | null;
  state: string | null;
  facets: Record<string, unknown>;
  jobFacets: Record<string, unknown>;
  inputs: OlRunDataset[];
  outputs: OlRunDataset[];
}

export interface OlRunDataset {
  namespace: string;
  name: string;
  facets: Record<string, unknown>;
  ioFacets: Record<string, unknown>;
}

export interface OlDatasetKey {
  namespace: string;
  name: string;
  assetKey: string;
}

const RUN_COLUMNS = `run_id AS "runId", job_namespace AS "jobNamespace", job_name AS "jobName",
  parent_run_id AS "parentRunId", parent_job_namespace AS "parentJobNamespace", parent_job_name AS "parentJobName",
  state, facets, job_facets AS "jobFacets", inputs, outputs`;

/** Every statement on the OpenLineage tables (ol_events, ol_runs, ol_datasets). */
export class OpenLineageRepository {
  /** Append raw events (never updated: a trigger refuses it). One statement per batch. */
  async appendEvents(m: SqlRunner, tenantId: string, events: readonly OlEventRow[]): Promise<void> {
    await m.query(
      `INSERT INTO ol_events (tenant_id, kind, run_id, event_type, event_time, payload)
       SELECT $1, u.kind, u.run_id, u.event_type, u.event_time, u.payload::jsonb
         FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
              WITH ORDINALITY AS u(kind, run_id, event_type, event_time, payload, ord)
        ORDER BY u.ord`,
      [
        tenantId,
        events.map((e) => e.kind),
        events.map((e) => e.runId),
        events.map((e) => e.eventType),
        events.map((e) => e.eventTime.toISOString()),
        events.map((e) => e.payload),
      ],
    );
  }

  /** The run's row, created when it is the run's first event, and locked for this transaction. */
  async lockRun(
    m: SqlRunner,
    tenantId: string,
    runId: string,
    job: { namespace: string; name: string },
  ): Promise<OlRunState> {
    await m.query(
      `INSERT INTO ol_runs (tenant_id, run_id, job_namespace, job_name) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, run_id) DO NOTHING`,
      [tenantId, runId, job.namespace, job.name],
    );
    const [run] = await rows<OlRunState>(
      m,
      `SELECT ${RUN_COLUMNS} FROM ol_runs WHERE tenant_id = $1 AND run_id = $2 FOR UPDATE`,
      [tenantId, runId],
    );
    return run;
  }

  async saveRun(m: SqlRunner, tenantId: string, run: OlRunState): Promise<void> {
    await m.query(
      `UPDATE ol_runs SET parent_run_id = $3, parent_job_namespace = $4, parent_job_name = $5, state = $6,
              facets = $7::jsonb, job_facets = $8::jsonb, inputs = $9::jsonb, outputs = $10::jsonb, updated_at = now()
        WHERE tenant_id = $1 AND run_id = $2`,
      [
        tenantId,
        run.runId,
        run.parentRunId,
        run.parentJobNamespace,
        run.parentJobName,
        run.state,
        JSON.stringify(run.facets),
        JSON.stringify(run.jobFacets),
        JSON.stringify(run.inputs),
        JSON.stringify(run.outputs),
      ],
    );
  }

  /** The mapped keys of these datasets (those that have one). */
  async datasetKeys(
    m: SqlRunner,
    tenantId: string,
    pairs: ReadonlyArray<{ namespace: string; name: string }>,
  ): Promise<OlDatasetKey[]> {
    if (!pairs.length) return [];
    return rows<OlDatasetKey>(
      m,
      `SELECT d.namespace, d.name, d.asset_key AS "assetKey"
         FROM unnest($2::text[], $3::text[]) AS u(ns, n)
         JOIN ol_datasets d ON d.tenant_id = $1 AND d.namespace = u.ns AND d.name = u.n`,
      [tenantId, pairs.map((p) => p.namespace), pairs.map((p) => p.name)],
    );
  }

  /** Which of these keys an asset or a dataset mapping already holds. */
  async takenKeys(m: SqlRunner, tenantId: string, keys: readonly string[]): Promise<Set<string>> {
    if (!keys.length) return new Set();
    const found = await rows<{ key: string }>(
      m,
      `SELECT key FROM assets WHERE tenant_id = $1 AND key = ANY($2::text[])
       UNION SELECT asset_key FROM ol_datasets WHERE tenant_id = $1 AND asset_key = ANY($2::text[])`,
      [tenantId, keys],
    );
    return new Set(found.map((r) => r.key));
  }

  /**
   * Map new datasets to their keys (a pair mapped meanwhile keeps its key; a key another
   * transaction took meanwhile leaves the pair unmapped, for the caller to retry), and make sure
   * each asset exists with the original namespace and name in its tags.
   */
  async mapDatasets(m: SqlRunner, tenantId: string, maps: readonly OlDatasetKey[]): Promise<void> {
    if (!maps.length) return;
    const sorted = [...maps].sort((a, b) => (a.assetKey < b.assetKey ? -1 : a.assetKey > b.assetKey ? 1 : 0));
    await m.query(
      `INSERT INTO ol_datasets (tenant_id, namespace, name, asset_key)
       SELECT $1, u.ns, u.n, u.k FROM unnest($2::text[], $3::text[], $4::text[]) AS u(ns, n, k)
       ON CONFLICT DO NOTHING`,
      [tenantId, sorted.map((d) => d.namespace), sorted.map((d) => d.name), sorted.map((d) => d.assetKey)],
    );
    await m.query(
      `INSERT INTO assets AS a (tenant_id, key, tags)
       SELECT $1, d.asset_key, jsonb_build_object('openlineage.namespace', d.namespace, 'openlineage.name', d.name)
         FROM unnest($2::text[], $3::text[]) AS u(ns, n)
         JOIN ol_datasets d ON d.tenant_id = $1 AND d.namespace = u.ns AND d.name = u.n
        ORDER BY d.asset_key
       ON CONFLICT (tenant_id, key) DO UPDATE SET tags = coalesce(a.tags, '{}'::jsonb) || EXCLUDED.tags, updated_at = now()
        WHERE NOT coalesce(a.tags, '{}'::jsonb) @> EXCLUDED.tags`,
      [tenantId, sorted.map((d) => d.namespace), sorted.map((d) => d.name)],
    );
  }

  /** A DatasetEvent's facets, merged by the caller, stored on the mapping. */
  async datasetFacets(
    m: SqlRunner,
    tenantId: string,
    namespace: string,
    name: string,
  ): Promise<Record<string, unknown>> {
    const [row] = await rows<{ facets: Record<string, unknown> }>(
      m,
      `SELECT facets FROM ol_datasets WHERE tenant_id = $1 AND namespace = $2 AND name = $3 FOR UPDATE`,
      [tenantId, namespace, name],
    );
    return row?.facets ?? {};
  }

  async saveDatasetFacets(
    m: SqlRunner,
    tenantId: string,
    namespace: string,
    name: string,
    facets: Record<string, unknown>,
  ): Promise<void> {
    await m.query(`UPDATE ol_datasets SET facets = $4::jsonb WHERE tenant_id = $1 AND namespace = $2 AND name = $3`, [
      tenantId,
      namespace,
      name,
      JSON.stringify(facets),
    ]);
  }

  /** The latest version of each of these assets (those with a materialization), as this transaction sees it. */
  async latestVersions(m: SqlRunner, tenantId: string, keys: readonly string[]): Promise<Map<string, string>> {
    if (!keys.length) return new Map();
    const found = await rows<{ key: string; version: string }>(
      m,
      `SELECT l.asset_key AS key, mt.version FROM asset_latest l
         JOIN materializations mt ON mt.id = l.materialization_id AND mt.tenant_id = $1
        WHERE l.tenant_id = $1 AND l.asset_key = ANY($2::text[])`,
      [tenantId, keys],
    );
    return new Map(found.map((r) => [r.key, r.version]));
  }

  /** The datasets these assets stand for, one statement. */
  async datasetsOfAssets(db: SqlRunner, tenantId: string, keys: readonly string[]): Promise<OlDatasetKey[]> {
    if (!keys.length) return [];
    return rows<OlDatasetKey>(
      db,
      `SELECT namespace, name, asset_key AS "assetKey" FROM ol_datasets WHERE tenant_id = $1 AND asset_key = ANY($2::text[])`,
      [tenantId, keys],
    );
  }

  /** A run's raw events, oldest first. */
  async eventsOfRun(db: SqlRunner, tenantId: string, runId: string): Promise<unknown[]> {
    const found = await rows<{ payload: unknown }>(
      db,
      `SELECT payload FROM ol_events WHERE tenant_id = $1 AND run_id = $2 ORDER BY id`,
      [tenantId, runId],
    );
    return found.map((r) => r.payload);
  }

  async countEvents(db: SqlRunner, tenantId: string): Promise<number> {
    const [r] = await rows<{ n: number }>(db, `SELECT count(*)::int AS n FROM ol_events WHERE tenant_id = $1`, [
      tenantId,
    ]);
    return r.n;
  }
}
