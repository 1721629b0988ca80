import { rows, type SqlRunner } from '../db/sql';
import type { LoggedEvent } from '../core/events';
import { expandRows, type EventRow } from './event-log.repository';

/**
 * Every statement of OpenLineage out: the emitter's watermark over the event log (a row of
 * `ol_emit_state` per receiver, its `sink`), the DAG and JOB events past it, and what an emitted event carries
 * (DAG names, tenant slugs, an attempt's materializations with their upstream refs, the
 * original names of datasets that came from OpenLineage).
 */

export interface EmitState {
  emittedThrough: string;
  failures: number;
  /** Milliseconds until the next try is due (0: due now). */
  dueInMs: number;
}

/** One attempt whose inputs and outputs an event needs. */
export interface AttemptRef {
  tenantId: string;
  dagId: string;
  taskId: string;
  jobId: string;
  tryNumber: number;
  /** Every try up to `tryNumber` (a success: what the node produced), else that try alone. */
  upToTry: boolean;
}

/** A materialization of an attempt (by its index in the request) and one of its upstream refs. */
export interface AttemptMaterialization {
  ref: number;
  id: string;
  assetKey: string;
  version: string;
  upstreamKey: string | null;
  upstreamVersion: string | null;
}

export interface OlName {
  tenantId: string;
  assetKey: string;
  namespace: string;
  name: string;
}

export class OpenLineageEmitRepository {
  /** The first emitter starts at the log's end: it emits what happens from then on. */
  async ensureState(m: SqlRunner, sink: string): Promise<void> {
    await m.query(
      `INSERT INTO ol_emit_state (sink, emitted_through)
       SELECT $1, COALESCE(max(position), 0) FROM event_log
       ON CONFLICT (sink) DO NOTHING`,
      [sink],
    );
  }

  /** The state, locked for this transaction; null when another emitter holds it. */
  async lockState(m: SqlRunner, sink: string): Promise<EmitState | null> {
    const [r] = await rows<{ emitted_through: string; failures: number; due_in_ms: number }>(
      m,
      `SELECT emitted_through::text, failures,
              GREATEST(0, COALESCE(EXTRACT(EPOCH FROM next_attempt_at - now()) * 1000, 0))::float8 AS due_in_ms
         FROM ol_emit_state WHERE sink = $1 FOR UPDATE SKIP LOCKED`,
      [sink],
    );
    return r ? { emittedThrough: r.emitted_through, failures: r.failures, dueInMs: Number(r.due_in_ms) } : null;
  }

  /** The highest stamped position: every event stamped later gets a higher one. */
  async lastPosition(m: SqlRunner): Promise<string> {
    const [r] = await rows<{ p: string }>(m, `SELECT COALESCE(max(position), 0)::text AS p FROM event_log`);
    return r.p;
  }

  /**
   * The DAG and JOB events past `after` (of these tenants, by slug; null: all), in position
   * order, at most `limit`: a watermark inside a row (a page that ended there) starts mid-row.
   */
  async eventsAfter(
    m: SqlRunner,
    after: string,
    limit: number,
    tenantSlugs: readonly string[] | null,
  ): Promise<LoggedEvent[]> {
    const found = await rows<EventRow>(
      m,
      `SELECT position, tenant_id, type, dag_id, payload, n_events, created_at FROM event_log
        WHERE position > $1 AND type IN ('DAG', 'JOB')
          AND ($2::text[] IS NULL OR tenant_id IN (SELECT id FROM tenants WHERE slug = ANY($2::text[])))
        ORDER BY position LIMIT ${limit}`,
      [after, tenantSlugs],
    );
    return expandRows(found, BigInt(after), limit);
  }

  /** Delivered through `position`: the watermark moves, the retry state is cleared. */
  async advance(m: SqlRunner, sink: string, position: string): Promise<void> {
    await m.query(
      `UPDATE ol_emit_state SET emitted_through = GREATEST(emitted_through, $2::bigint), failures = 0,
         next_attempt_at = NULL, last_error = NULL, updated_at = now() WHERE sink = $1`,
      [sink, position],
    );
  }

  /** A failed delivery: the next try is due in `delayMs`. */
  async failed(m: SqlRunner, sink: string, error: string, delayMs: number): Promise<void> {
    await m.query(
      `UPDATE ol_emit_state SET failures = failures + 1, last_error = $2,
         next_attempt_at = now() + make_interval(secs => $3::double precision / 1000), updated_at = now()
       WHERE sink = $1`,
      [sink, error.slice(0, 1000), delayMs],
    );
  }

  /** The state as it stands (for tests and operators). */
  async state(
    m: SqlRunner,
    sink: string,
  ): Promise<{ emittedThrough: string; failures: number; lastError: string | null } | null> {
    const [r] = await rows<{ emitted_through: string; failures: number; last_error: string | null }>(
      m,
      `SELECT emitted_through::text, failures, last_error FROM ol_emit_state WHERE sink = $1`,
      [sink],
    );
    return r ? { emittedThrough: r.emitted_through, failures: r.failures, lastError: r.last_error } : null;
  }

  /** DAG names by `tenant \0 dag id` (a purged DAG is absent). */
  async dagNames(m: SqlRunner, dags: ReadonlyArray<{ tenantId: string; dagId: string }>): Promise<Map<string, string>> {
    if (!dags.length) return new Map();
    const found = await rows<{ tenant_id: string; id: string; name: string }>(
      m,
      `SELECT d.tenant_id, d.id, d.name FROM unnest($1::uuid[], $2::text[]) AS k(tenant_id, id)
         JOIN dags d ON d.tenant_id = k.tenant_id AND d.id = k.id`,
      [dags.map((d) => d.tenantId), dags.map((d) => d.dagId)],
    );
    return new Map(found.map((r) => [`${r.tenant_id}\0${r.id}`, r.name]));
  }

  async tenantSlugs(m: SqlRunner, tenantIds: readonly string[]): Promise<Map<string, string>> {
    if (!tenantIds.length) return new Map();
    const found = await rows<{ id: string; slug: string }>(
      m,
      `SELECT id, slug FROM tenants WHERE id = ANY($1::uuid[])`,
      [tenantIds],
    );
    return new Map(found.map((r) => [r.id, r.slug]));
  }

  /**
   * The materializations of these attempts (those recorded with their try number, by the
   * attempt's job or naming none) and each one's upstream refs: one statement.
   */
  async attemptMaterializations(m: SqlRunner, refs: readonly AttemptRef[]): Promise<AttemptMaterialization[]> {
    if (!refs.length) return [];
    return rows<AttemptMaterialization>(
      m,
      `SELECT (k.i - 1)::int AS ref, mt.id::text AS id, mt.asset_key AS "assetKey", mt.version,
              l.upstream_asset_key AS "upstreamKey", l.upstream_version AS "upstreamVersion"
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bool[])
                WITH ORDINALITY AS k(tenant_id, dag_id, task_id, job_id, try, up_to, i)
         JOIN materializations mt ON mt.tenant_id = k.tenant_id AND mt.dag_id = k.dag_id
              AND mt.node_task_id = k.task_id AND (mt.job_id IS NULL OR mt.job_id = k.job_id)
              AND (mt.try_number = k.try OR (k.up_to AND mt.try_number < k.try))
         LEFT JOIN materialization_lineage l ON l.materialization_id = mt.id
        ORDER BY k.i, mt.id, l.id`,
      [
        refs.map((r) => r.tenantId),
        refs.map((r) => r.dagId),
        refs.map((r) => r.taskId),
        refs.map((r) => r.jobId),
        refs.map((r) => r.tryNumber),
        refs.map((r) => r.upToTry),
      ],
    );
  }

  /** The original (namespace, name) of the assets that came from OpenLineage. */
  async olNames(m: SqlRunner, keys: ReadonlyArray<{ tenantId: string; assetKey: string }>): Promise<OlName[]> {
    if (!keys.length) return [];
    return rows<OlName>(
      m,
      `SELECT d.tenant_id AS "tenantId", d.asset_key AS "assetKey", d.namespace, d.name
         FROM unnest($1::uuid[], $2::text[]) AS k(tenant_id, asset_key)
         JOIN ol_datasets d ON d.tenant_id = k.tenant_id AND d.asset_key = k.asset_key`,
      [keys.map((k) => k.tenantId), keys.map((k) => k.assetKey)],
    );
  }
}
