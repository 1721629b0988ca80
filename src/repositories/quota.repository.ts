import { rows as sqlRows, type SqlRunner } from '../db/sql';

/** Ready jobs of a tenant (due, every dependency COMPLETED, not claimed), grouped. */
export interface ReadyGroup {
  executor: string;
  key: string | null;
  /** The smallest concurrencyLimit of the group's jobs (null without a key). */
  limit: number | null;
  n: number;
}

/** In-flight jobs (ACTIVE, or claimed and not started) of a tenant, grouped. */
export interface InFlightGroup {
  executor: string;
  key: string | null;
  n: number;
}

/** The counts the fair-share view of one tenant is built from (DESIGN.md "Fair share"). */
export class QuotaRepository {
  /** The tenant's slug, its ready and in-flight jobs by executor and key: one statement. */
  async usage(
    m: SqlRunner,
    tenantId: string,
  ): Promise<{ slug: string | null; ready: ReadyGroup[]; inFlight: InFlightGroup[] }> {
    const [r] = await sqlRows<{ slug: string | null; ready: ReadyGroup[] | null; in_flight: InFlightGroup[] | null }>(
      m,
      `SELECT (SELECT slug FROM tenants WHERE id = $1) AS slug,
         (SELECT json_agg(x) FROM (SELECT executor, concurrency_key AS key, min(concurrency_limit) AS "limit",
              count(*)::int AS n FROM jobs
             WHERE tenant_id = $1 AND state IN ('CREATED','RETRY') AND pending_deps = 0 AND dispatched_at IS NULL
               AND (run_after IS NULL OR run_after <= now()) GROUP BY 1, 2) x) AS ready,
         (SELECT json_agg(y) FROM (SELECT executor, concurrency_key AS key, count(*)::int AS n FROM jobs
             WHERE tenant_id = $1 AND (state = 'ACTIVE' OR (state IN ('CREATED','RETRY') AND dispatched_at IS NOT NULL))
             GROUP BY 1, 2) y) AS in_flight`,
      [tenantId],
    );
    return { slug: r?.slug ?? null, ready: r?.ready ?? [], inFlight: r?.in_flight ?? [] };
  }

  /**
   * What a rate limit counts per executor: the tenant's starts within its window plus its
   * claimed-but-unstarted jobs (as the fair claim counts them). One statement.
   */
  async rateCounts(
    m: SqlRunner,
    tenantId: string,
    windows: Array<{ executor: string; perSeconds: number }>,
  ): Promise<Map<string, number>> {
    if (windows.length === 0) return new Map();
    const found = await sqlRows<{ executor: string; n: number }>(
      m,
      `SELECT w.executor,
         (SELECT count(*)::int FROM jobs s WHERE s.tenant_id = $1 AND s.executor = w.executor
            AND s.attempt_started_at > now() - make_interval(secs => w.secs))
         + (SELECT count(*)::int FROM jobs q WHERE q.tenant_id = $1 AND q.executor = w.executor
            AND q.state IN ('CREATED','RETRY') AND q.dispatched_at IS NOT NULL) AS n
       FROM unnest($2::text[], $3::float8[]) AS w(executor, secs)`,
      [tenantId, windows.map((w) => w.executor), windows.map((w) => w.perSeconds)],
    );
    return new Map(found.map((r) => [r.executor, r.n]));
  }
}
