import { createHash } from 'node:crypto';
import { u64 } from './asset-version';

/** What a job's cache key is computed from (DESIGN.md "Memoised execution"). */
export interface CacheKeyFields {
  executor: string;
  endpoint: string;
  codeVersion: string;
  data: unknown;
  partitionKey: string | null;
  /** `assetKey@version` of the materializations its upstream nodes recorded in this DAG (latest tries). */
  upstreamVersions: readonly string[];
  /** Each upstream node's task id and output (as stored). */
  upstreamOutputs: ReadonlyArray<{ taskId: string; output: unknown }>;
}

/** JSON with every object's keys sorted: equal values give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const sorted = (xs: readonly string[]): string[] => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * The cache key `c:sha256:<hex>`: sha256 over the length-framed fields, framed as FRAMED
 * asset versions frame theirs, under the prefix "marie-cache/1"; the two lists framed as
 * a count and then their sorted entries. Pure.
 */
export function computeCacheKey(f: CacheKeyFields): string {
  const hash = createHash('sha256');
  const field = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    hash.update(u64(b.length)).update(b);
  };
  const list = (xs: readonly string[]) => {
    const s = sorted(xs);
    hash.update(u64(s.length));
    for (const x of s) field(x);
  };
  field('marie-cache/1');
  field(f.executor);
  field(f.endpoint);
  field(f.codeVersion);
  field(canonicalJson(f.data));
  field(f.partitionKey ?? '');
  list(f.upstreamVersions);
  list(f.upstreamOutputs.map((u) => `${u.taskId}:${sha256Hex(canonicalJson(u.output))}`));
  return `c:sha256:${hash.digest('hex')}`;
}
