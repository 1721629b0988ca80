import { parse } from 'yaml';
import { z } from 'zod';

/**
 * The per-tenant fair-share policy of QUOTAS_FILE (DESIGN.md "Fair share"): a `default`
 * entry and `tenants: { <tenant>: { weight, maxActiveJobs, maxActiveJobsPerExecutor,
 * rateLimits } }`. Pure: parsing and validation only; the file is read by the service.
 */
const positiveInt = z.number().int().min(1);
const entrySchema = z
  .object({
    weight: z.number().positive().max(1000).optional(),
    maxActiveJobs: positiveInt.optional(),
    maxActiveJobsPerExecutor: z.record(z.string().min(1), positiveInt).optional(),
    rateLimits: z
      .record(z.string().min(1), z.object({ jobs: positiveInt, perSeconds: positiveInt.max(86_400) }).strict())
      .optional(),
  })
  .strict();
const fileSchema = z
  .object({
    default: entrySchema.optional(),
    tenants: z.record(z.string().min(1), entrySchema).optional(),
  })
  .strict();

export interface RateLimit {
  jobs: number;
  perSeconds: number;
}

export interface TenantPolicy {
  weight: number;
  maxActiveJobs: number | null;
  maxActiveJobsPerExecutor: Readonly<Record<string, number>>;
  rateLimits: Readonly<Record<string, RateLimit>>;
}

export interface QuotaPolicy {
  default: TenantPolicy;
  tenants: Readonly<Record<string, TenantPolicy>>;
}

/** No file: every tenant weighs 1, nothing is capped. */
export const OPEN_POLICY: QuotaPolicy = Object.freeze({
  default: Object.freeze({ weight: 1, maxActiveJobs: null, maxActiveJobsPerExecutor: {}, rateLimits: {} }),
  tenants: {},
});

const entryOf = (e: z.infer<typeof entrySchema> | undefined): TenantPolicy => ({
  weight: e?.weight ?? 1,
  maxActiveJobs: e?.maxActiveJobs ?? null,
  maxActiveJobsPerExecutor: { ...(e?.maxActiveJobsPerExecutor ?? {}) },
  rateLimits: { ...(e?.rateLimits ?? {}) },
});

export class QuotaPolicyError extends Error {
  constructor(
    readonly file: string,
    readonly key: string,
    problem: string,
  ) {
    super(`${file}: ${key || '(root)'}: ${problem}`);
    this.name = 'QuotaPolicyError';
  }
}

/** Parse a QUOTAS_FILE's text; a QuotaPolicyError names the file and the offending key. */
export function parseQuotaPolicy(text: string, file: string): QuotaPolicy {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (err) {
    throw new QuotaPolicyError(file, '', `not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const keys = issue.code === 'unrecognized_keys' ? `.${issue.keys.join(',')}` : '';
    throw new QuotaPolicyError(file, issue.path.join('.') + keys, issue.message);
  }
  const tenants: Record<string, TenantPolicy> = {};
  const def = entryOf(parsed.data.default);
  for (const [t, e] of Object.entries(parsed.data.tenants ?? {}))
    tenants[t] = entryOf({ ...parsed.data.default, ...e });
  return { default: def, tenants };
}

/** The entry that applies to a tenant. */
export const policyOf = (p: QuotaPolicy, tenantId: string): TenantPolicy => p.tenants[tenantId] ?? p.default;
