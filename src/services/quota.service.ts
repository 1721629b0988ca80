import type { DataSource } from 'typeorm';
import { OPEN_POLICY, policyOf, type QuotaPolicy, type TenantPolicy } from '../core/quota-policy';
import type { QuotaRepository } from '../repositories/quota.repository';

export type ThrottleCause = 'MAX_ACTIVE' | 'EXECUTOR_CAP' | 'CONCURRENCY_KEY' | 'RATE_LIMIT';

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

/**
 * A tenant's fair-share policy and where it stands: its in-flight jobs and the ready jobs
 * a limit holds back now, each counted once, under the first limit that is full (key,
 * executor cap, rate limit, then the tenant's cap).
 */
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

  private async usage(tenantId: string): Promise<{ view: TenantQuotaView; byExecutor: Map<string, number> }> {
    const { slug, ready, inFlight } = await this.repo.usage(this.ds, tenantId);
    const p: TenantPolicy = slug ? policyOf(this.quotas.policy, slug) : OPEN_POLICY.default;
    const rateLimits = Object.entries(p.rateLimits).map(([executor, r]) => ({ executor, ...r }));
    const rates = await this.repo.rateCounts(this.ds, tenantId, rateLimits);
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
      else if (rate !== undefined && (rates.get(g.executor) ?? 0) >= rate.jobs)
        add('RATE_LIMIT', g.executor, null, g.n);
      else if (p.maxActiveJobs !== null && activeJobs >= p.maxActiveJobs) add('MAX_ACTIVE', null, null, g.n);
      const held = [...counts.values()].reduce((s, c) => s + c.jobs, 0) - before;
      if (held > 0) byExecutor.set(g.executor, (byExecutor.get(g.executor) ?? 0) + held);
    }
    const view = {
      weight: p.weight,
      maxActiveJobs: p.maxActiveJobs,
      maxActiveJobsPerExecutor: { ...p.maxActiveJobsPerExecutor },
      rateLimits,
      activeJobs,
      throttled: [...counts.values()],
    };
    return { view, byExecutor };
  }
}
