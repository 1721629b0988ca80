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

/** Ready and in-flight groups of every tenant that has any (the tenant gauges' counts). */
export interface TenantUsage {
  tenantId: string;
  slug: string;
  ready: ReadyGroup[];
  inFlight: InFlightGroup[];
}

const READY = `state IN ('CREATED','RETRY') AND pending_deps = 0 AND dispatched_at IS NULL
  AND (run_after IS NULL OR run_after <= now())`;
const IN_FLIGHT = `(state = 'ACTIVE' OR (state IN ('CREATED','RETRY') AND dispatched_at IS NOT NULL))`;

/** The counts the fair-share view of a tenant is built from (DESIGN.md "Fair share"). */
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
             WHERE tenant_id = $1 AND ${READY} GROUP BY 1, 2) x) AS ready,
         (SELECT json_agg(y) FROM (SELECT executor, concurrency_key AS key, count(*)::int AS n FROM jobs
             WHERE tenant_id = $1 AND ${IN_FLIGHT} GROUP BY 1, 2) y) AS in_flight`,
      [tenantId],
    );
    return { slug: r?.slug ?? null, ready: r?.ready ?? [], inFlight: r?.in_flight ?? [] };
  }

  /** The same groups for every tenant with ready or in-flight jobs: one grouped statement. */
  async usageAll(m: SqlRunner): Promise<TenantUsage[]> {
    const rows = await sqlRows<{
      tenant_id: string;
      slug: string;
      ready: boolean;
      executor: string;
      key: string | null;
      limit: number | null;
      n: number;
    }>(
      m,
      `SELECT g.tenant_id, t.slug, g.ready, g.executor, g.key, g."limit", g.n FROM (
         SELECT tenant_id, true AS ready, executor, concurrency_key AS key, min(concurrency_limit) AS "limit",
                count(*)::int AS n FROM jobs WHERE ${READY} GROUP BY 1, 3, 4
         UNION ALL
         SELECT tenant_id, false, executor, concurrency_key, NULL, count(*)::int FROM jobs WHERE ${IN_FLIGHT}
          GROUP BY 1, 3, 4) g
       JOIN tenants t ON t.id = g.tenant_id`,
    );
    const byTenant = new Map<string, TenantUsage>();
    for (const r of rows) {
      let u = byTenant.get(r.tenant_id);
      if (!u) byTenant.set(r.tenant_id, (u = { tenantId: r.tenant_id, slug: r.slug, ready: [], inFlight: [] }));
      if (r.ready) u.ready.push({ executor: r.executor, key: r.key, limit: r.limit, n: r.n });
      else u.inFlight.push({ executor: r.executor, key: r.key, n: r.n });
    }
    return [...byTenant.values()];
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
    const all = await this.rateCountsAll(
      m,
      windows.map((w) => ({ tenantId, ...w })),
    );
    return new Map([...all].map(([k, n]) => [k.slice(tenantId.length + 1), n]));
  }

  /** rateCounts for several tenants at once, keyed `<tenantId>/<executor>`: one statement. */
  async rateCountsAll(
    m: SqlRunner,
    windows: Array<{ tenantId: string; executor: string; perSeconds: number }>,
  ): Promise<Map<string, number>> {
    if (windows.length === 0) return new Map();
    const found = await sqlRows<{ tenant_id: string; executor: string; n: number }>(
      m,
      `SELECT w.tenant_id, w.executor,
         (SELECT count(*)::int FROM jobs s WHERE s.tenant_id = w.tenant_id AND s.executor = w.executor
            AND s.attempt_started_at > now() - make_interval(secs => w.secs))
         + (SELECT count(*)::int FROM jobs q WHERE q.tenant_id = w.tenant_id AND q.executor = w.executor
            AND q.state IN ('CREATED','RETRY') AND q.dispatched_at IS NOT NULL) AS n
       FROM unnest($1::uuid[], $2::text[], $3::float8[]) AS w(tenant_id, executor, secs)`,
      [windows.map((w) => w.tenantId), windows.map((w) => w.executor), windows.map((w) => w.perSeconds)],
    );
    return new Map(found.map((r) => [`${r.tenant_id}/${r.executor}`, r.n]));
  }
}
