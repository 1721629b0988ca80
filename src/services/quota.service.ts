import type { DataSource } from 'typeorm';
import { OPEN_POLICY, policyOf, type QuotaPolicy, type TenantPolicy } from '../core/quota-policy';
import type { InFlightGroup, QuotaRepository, ReadyGroup } from '../repositories/quota.repository';

export type ThrottleCause = 'MAX_ACTIVE' | 'EXECUTOR_CAP' | 'CONCURRENCY_KEY' | 'RATE_LIMIT';
export const THROTTLE_CAUSES: readonly ThrottleCause[] = [
  'MAX_ACTIVE',
  'EXECUTOR_CAP',
  'CONCURRENCY_KEY',
  'RATE_LIMIT',
];

export interface ThrottleCountView {
  cause: ThrottleCause;
  executor: string | null;
  concurrencyKey: string | null;
  jobs: number;
}

export interface TenantQuotaView {
  weight: number;
  maxActiveJobs: number | null;
  maxActiveJobsPerExecutor: Record<string, number>;
  rateLimits: Array<{ executor: string; jobs: number; perSeconds: number }>;
  activeJobs: number;
  throttled: ThrottleCountView[];
}

/** One tenant's line of the operator's gauges: in-flight jobs and ready jobs held back, by cause. */
export interface TenantGaugeView {
  tenant: string;
  activeJobs: number;
  throttled: Record<ThrottleCause, number>;
}

const rateLimitsOf = (p: TenantPolicy) => Object.entries(p.rateLimits).map(([executor, r]) => ({ executor, ...r }));

/**
 * Where a tenant stands under its policy: its in-flight jobs and the ready jobs a limit
 * holds back now, each counted once, under the first limit that is full (key, executor
 * cap, rate limit, then the tenant's cap). Pure; `rates`: rate counts by executor.
 */
function standing(
  p: TenantPolicy,
  ready: ReadyGroup[],
  inFlight: InFlightGroup[],
  rates: (executor: string) => number,
): { view: TenantQuotaView; byExecutor: Map<string, number> } {
  const sum = (f: (g: { executor: string; key: string | null }) => boolean) =>
    inFlight.filter(f).reduce((s, g) => s + g.n, 0);
  const activeJobs = sum(() => true);
  const counts = new Map<string, ThrottleCountView>();
  const add = (cause: ThrottleCause, executor: string | null, key: string | null, n: number) => {
    const k = `${cause}/${executor ?? ''}/${key ?? ''}`;
    const c = counts.get(k) ?? { cause, executor, concurrencyKey: key, jobs: 0 };
    c.jobs += n;
    counts.set(k, c);
  };
  const byExecutor = new Map<string, number>();
  for (const g of ready) {
    const before = [...counts.values()].reduce((s, c) => s + c.jobs, 0);
    const cap = p.maxActiveJobsPerExecutor[g.executor];
    const rate = p.rateLimits[g.executor];
    if (g.key !== null && g.limit !== null && sum((x) => x.key === g.key) >= g.limit)
      add('CONCURRENCY_KEY', null, g.key, g.n);
    else if (cap !== undefined && sum((x) => x.executor === g.executor) >= cap)
      add('EXECUTOR_CAP', g.executor, null, g.n);
    else if (rate !== undefined && rates(g.executor) >= rate.jobs) add('RATE_LIMIT', g.executor, null, g.n);
    else if (p.maxActiveJobs !== null && activeJobs >= p.maxActiveJobs) add('MAX_ACTIVE', null, null, g.n);
    const held = [...counts.values()].reduce((s, c) => s + c.jobs, 0) - before;
    if (held > 0) byExecutor.set(g.executor, (byExecutor.get(g.executor) ?? 0) + held);
  }
  const view = {
    weight: p.weight,
    maxActiveJobs: p.maxActiveJobs,
    maxActiveJobsPerExecutor: { ...p.maxActiveJobsPerExecutor },
    rateLimits: rateLimitsOf(p),
    activeJobs,
    throttled: [...counts.values()],
  };
  return { view, byExecutor };
}

/** A tenant's fair-share policy and where it stands (see `standing`); the operator's per-tenant gauges. */
export class QuotaService {
  constructor(
    private readonly ds: DataSource,
    private readonly repo: QuotaRepository,
    private readonly quotas: { readonly policy: QuotaPolicy; readonly enabled: boolean },
  ) {}

  async quota(tenantId: string): Promise<TenantQuotaView> {
    return (await this.usage(tenantId)).view;
  }

  /** Ready jobs held back now, per executor (QueueStats.throttled). */
  async throttledByExecutor(tenantId: string): Promise<Map<string, number>> {
    return (await this.usage(tenantId)).byExecutor;
  }

  /**
   * Every tenant with ready or in-flight jobs: its in-flight count and held-back jobs by
   * cause (marie_tenant_active_jobs, marie_tenant_throttled_jobs). Two grouped statements,
   * whatever the number of tenants.
   */
  async tenantGauges(): Promise<TenantGaugeView[]> {
    const usage = await this.repo.usageAll(this.ds);
    const policies = new Map(usage.map((u) => [u.tenantId, policyOf(this.quotas.policy, u.slug)]));
    const windows = usage.flatMap((u) => {
      const p = policies.get(u.tenantId)!;
      const readyOn = new Set(u.ready.map((g) => g.executor));
      return rateLimitsOf(p)
        .filter((r) => readyOn.has(r.executor))
        .map((r) => ({ tenantId: u.tenantId, executor: r.executor, perSeconds: r.perSeconds }));
    });
    const rates = await this.repo.rateCountsAll(this.ds, windows);
    return usage.map((u) => {
      const { view } = standing(
        policies.get(u.tenantId)!,
        u.ready,
        u.inFlight,
        (e) => rates.get(`${u.tenantId}/${e}`) ?? 0,
      );
      const throttled = Object.fromEntries(THROTTLE_CAUSES.map((c) => [c, 0])) as Record<ThrottleCause, number>;
      for (const t of view.throttled) throttled[t.cause] += t.jobs;
      return { tenant: u.slug, activeJobs: view.activeJobs, throttled };
    });
  }

  private async usage(tenantId: string): Promise<{ view: TenantQuotaView; byExecutor: Map<string, number> }> {
    const { slug, ready, inFlight } = await this.repo.usage(this.ds, tenantId);
    const p: TenantPolicy = slug ? policyOf(this.quotas.policy, slug) : OPEN_POLICY.default;
    const rates = await this.repo.rateCounts(this.ds, tenantId, rateLimitsOf(p));
    return standing(p, ready, inFlight, (e) => rates.get(e) ?? 0);
  }
}
