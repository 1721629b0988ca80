import { z } from 'zod';

/** OpenLineage out's variables (README "OpenLineage out"), validated with the rest in config.ts. */

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

function urlWithoutCredentials(v: string): boolean {
  try {
    const u = new URL(v);
    return !u.username && !u.password;
  } catch {
    return false;
  }
}

export const OPENLINEAGE_ENV = {
  OPENLINEAGE_URL: z
    .string()
    .trim()
    .regex(/^https?:\/\/[^\s/]+/, 'an http(s) URL, e.g. http://marquez:5000')
    .refine(urlWithoutCredentials, 'a valid URL without credentials (the key goes in OPENLINEAGE_API_KEY)')
    .optional(),
  OPENLINEAGE_ENDPOINT: z.string().trim().min(1).default('api/v1/lineage'),
  OPENLINEAGE_API_KEY: z.string().min(1).optional(),
  OPENLINEAGE_NAMESPACE: z.string().trim().min(1).max(200).default('marie'),
  OPENLINEAGE_TENANTS: z.string().optional(),
  OPENLINEAGE_TIMEOUT_MS: int(100, 600_000).default(10_000),
  OPENLINEAGE_RETRY_BASE_MS: int(1).default(1_000),
  OPENLINEAGE_RETRY_MAX_MS: int(1).default(60_000),
};

type Parsed = z.infer<z.ZodObject<typeof OPENLINEAGE_ENV>>;

export type OpenLineageEmitConfig = Readonly<{
  /** The full URL events are POSTed to: OPENLINEAGE_URL joined with OPENLINEAGE_ENDPOINT. */
  endpointUrl: string;
  /** The receiver as the emitter's watermark names it (its endpoint URL). */
  sink: string;
  /** The endpoint takes arrays (its path ends in `/batch`, as ours does). */
  batch: boolean;
  apiKey: string | undefined;
  namespace: string;
  /** The slugs of the tenants whose runs are emitted (OPENLINEAGE_TENANTS); null: every tenant. */
  tenants: readonly string[] | null;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}>;

/** OpenLineage out's settings; null without OPENLINEAGE_URL. */
export function openLineageConfig(c: Parsed): OpenLineageEmitConfig | null {
  if (!c.OPENLINEAGE_URL) return null;
  const endpointUrl = `${c.OPENLINEAGE_URL.replace(/\/+$/, '')}/${c.OPENLINEAGE_ENDPOINT.replace(/^\/+/, '')}`;
  const tenants = (c.OPENLINEAGE_TENANTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    endpointUrl,
    sink: endpointUrl,
    batch: /\/batch\/?$/.test(c.OPENLINEAGE_ENDPOINT),
    apiKey: c.OPENLINEAGE_API_KEY,
    namespace: c.OPENLINEAGE_NAMESPACE,
    tenants: tenants.length ? tenants : null,
    timeoutMs: c.OPENLINEAGE_TIMEOUT_MS,
    retryBaseMs: c.OPENLINEAGE_RETRY_BASE_MS,
    retryMaxMs: Math.max(c.OPENLINEAGE_RETRY_MAX_MS, c.OPENLINEAGE_RETRY_BASE_MS),
  };
}
