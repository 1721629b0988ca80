import { createHash } from 'node:crypto';
import { badInput } from '../errors/domain-error';
import type { NewJob } from '../repositories/job-rows.repository';

export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
export const LIMITS = Object.freeze({
  maxJobs: 10_000,
  maxJobDataBytes: 256 * 1024,
  maxTotalDataBytes: 16 * 1024 * 1024,
  maxOutputBytes: 1024 * 1024,
  maxRetryLimit: 100,
  maxRetryDelay: 86_400,
  maxPriority: 1000,
  maxMetadataBytes: 64 * 1024,
});

export interface AssetExpectationInputLike {
  key: string;
  kind?: string | null;
  isPrimary?: boolean | null;
  isRequired?: boolean | null;
}

export interface JobInputLike {
  id: string;
  name: string;
  executor?: string | null;
  priority?: number | null;
  data?: unknown;
  dependencies?: string[] | null;
  jobLevel?: number | null;
  retryLimit?: number | null;
  retryDelay?: number | null;
  retryBackoff?: boolean | null;
  startAfter?: Date | null;
  expireInSeconds?: number | null;
  keepUntil?: Date | null;
  softSla?: Date | null;
  hardSla?: Date | null;
  requiresGpu?: boolean | null;
  partitionKey?: string | null;
  concurrencyKey?: string | null;
  concurrencyLimit?: number | null;
  assets?: AssetExpectationInputLike[] | null;
  cache?: CachePolicyLike | null;
}

/** A cache policy as submitted (DESIGN.md "Memoised execution"). */
export interface CachePolicyLike {
  enabled?: boolean | null;
  ttlSeconds?: number | null;
  key?: string | null;
}

/** A job's effective cache policy: its own, else the DAG's; off when neither gives one. */
export interface CachePolicy {
  enabled: boolean;
  /** Null: the default (7 days). */
  ttlSeconds: number | null;
  key: string | null;
}

/** The cache policy at `path`, checked (ttlSeconds 0 to 10 years, key 1 to 255 characters). */
function cachePolicyOf(path: string, c: CachePolicyLike | null | undefined): CachePolicy | null {
  if (c == null) return null;
  const ttlSeconds = c.ttlSeconds == null ? null : intIn(`${path}.ttlSeconds`, c.ttlSeconds, 0, 0, 10 * 365 * 86_400);
  if (c.key != null && (c.key.length < 1 || c.key.length > 255))
    throw badInput(`${path}.key`, 'must be 1 to 255 characters');
  return { enabled: c.enabled ?? true, ttlSeconds, key: c.key ?? null };
}

export interface SubmitDagInputLike {
  id?: string | null;
  name: string;
  metadata?: unknown;
  softSla?: Date | null;
  hardSla?: Date | null;
  callbackUrl?: string | null;
  cache?: CachePolicyLike | null;
  jobs: JobInputLike[];
}

/** A job as validation leaves it: what the jobs table stores (NewJob), plus its data and assets. */
export interface NormalizedJob extends NewJob {
  data: unknown;
  assets: Array<{ key: string; kind: string | null; isPrimary: boolean; isRequired: boolean }>;
  cache: CachePolicy;
}

export interface NormalizedDag {
  id: string | null;
  name: string;
  metadata: unknown;
  softSla: Date | null;
  hardSla: Date | null;
  callbackUrl: string | null;
  jobs: NormalizedJob[];
  /** sha256 of the normalised input: the same DAG resubmitted hashes the same. */
  hash: string;
}

const ASSET_KEY = /^[A-Za-z0-9_./-]{1,255}$/;

const isDate = (d: unknown): d is Date => d instanceof Date && !Number.isNaN(d.getTime());

function checkSlas(path: string, soft: Date | null, hard: Date | null): void {
  if (soft && hard && soft.getTime() > hard.getTime()) {
    throw badInput(`${path}.softSla`, 'the soft SLA must not be later than the hard SLA');
  }
}

function intIn(path: string, value: number | null | undefined, def: number, min: number, max: number): number {
  const v = value ?? def;
  if (!Number.isInteger(v) || v < min || v > max) throw badInput(path, `must be an integer from ${min} to ${max}`);
  return v;
}

/** Whether a plain object's own keys are in ascending order already. */
function plainAndSorted(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(v);
  for (let i = 1; i < keys.length; i += 1) if (!(keys[i - 1] < keys[i])) return false;
  return true;
}

/**
 * Stable JSON (sorted keys) so equal inputs hash equal whatever their key order. Each object
 * is written as a copy with its entries sorted, or as it is when it is a plain object whose
 * keys are in order already (the same text, without the copy: a 10,000-job DAG's jobs).
 */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !plainAndSorted(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}

/**
 * A job as the DAG's hash reads it: all of it but `dataJson` (its `data` is there), its
 * dependencies sorted, its keys in order (stableJson writes it without copying it again).
 */
function hashedJob(j: NormalizedJob): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const k of Object.keys(j).sort()) {
    if (k !== 'dataJson') view[k] = k === 'dependencies' ? [...j.dependencies].sort() : j[k as keyof NormalizedJob];
  }
  return view;
}

/** Find one cycle in the graph (task → its dependencies), as the list of ids around it. */
function findCycle(jobs: NormalizedJob[]): string[] | null {
  const deps = new Map(jobs.map((j) => [j.taskId, j.dependencies]));
  const color = new Map<string, 0 | 1 | 2>();
  const stack: string[] = [];
  for (const start of deps.keys()) {
    if (color.get(start)) continue;
    // Iterative DFS: [node, next dependency index].
    const frames: Array<[string, number]> = [[start, 0]];
    color.set(start, 1);
    stack.push(start);
    while (frames.length) {
      const top = frames[frames.length - 1];
      const [node, i] = top;
      const list = deps.get(node) ?? [];
      if (i < list.length) {
        top[1] = i + 1;
        const next = list[i];
        const c = color.get(next) ?? 0;
        if (c === 1) {
          const at = stack.indexOf(next);
          return [...stack.slice(at), next];
        }
        if (c === 0) {
          color.set(next, 1);
          stack.push(next);
          frames.push([next, 0]);
        }
      } else {
        color.set(node, 2);
        stack.pop();
        frames.pop();
      }
    }
  }
  return null;
}

/** Longest path from a root (roots 0), in topological order; assumes no cycle. */
function computeLevels(jobs: NormalizedJob[]): Map<string, number> {
  const byId = new Map(jobs.map((j) => [j.taskId, j]));
  const level = new Map<string, number>();
  const indegree = new Map(jobs.map((j) => [j.taskId, j.dependencies.length]));
  const dependents = new Map<string, string[]>();
  for (const j of jobs)
    for (const d of j.dependencies) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(j.taskId);
  const queue = jobs.filter((j) => j.dependencies.length === 0).map((j) => j.taskId);
  for (const r of queue) level.set(r, 0);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    const l = level.get(id)!;
    for (const child of dependents.get(id) ?? []) {
      level.set(child, Math.max(level.get(child) ?? 0, l + 1));
      const left = indegree.get(child)! - 1;
      indegree.set(child, left);
      if (left === 0) queue.push(child);
    }
  }
  if (queue.length !== byId.size) throw new Error('computeLevels on a cyclic graph');
  return level;
}

export interface CallbackPolicy {
  isProduction: boolean;
  allowList: readonly string[];
  hasSecret: boolean;
}

export function validateCallbackUrl(url: string, policy: CallbackPolicy): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badInput('input.callbackUrl', 'is not a valid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw badInput('input.callbackUrl', 'must be http or https');
  if (!policy.hasSecret)
    throw badInput(
      'input.callbackUrl',
      'callbacks need CALLBACK_SECRET to be set on the server (they are HMAC-signed)',
    );
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  const allowed = policy.allowList.some(
    (entry) => entry === host || (entry.startsWith('*.') && host.endsWith(entry.slice(1))),
  );
  if (!allowed && !(loopback && !policy.isProduction)) {
    throw badInput('input.callbackUrl', `host ${host} is not in CALLBACK_ALLOW_LIST`);
  }
  return parsed.toString();
}

/** Validate a submitted DAG whole, before anything is stored; normalise defaults and levels. */
export function validateDag(input: SubmitDagInputLike, callbacks: CallbackPolicy): NormalizedDag {
  if (input.id != null && !ID_PATTERN.test(input.id)) throw badInput('input.id', 'must match [A-Za-z0-9_.-]{1,128}');
  const name = (input.name ?? '').trim();
  if (name.length < 1 || name.length > 255) throw badInput('input.name', 'must be 1 to 255 characters');
  if (input.metadata != null) {
    if (typeof input.metadata !== 'object' || Array.isArray(input.metadata))
      throw badInput('input.metadata', 'must be a JSON object');
    if (Buffer.byteLength(JSON.stringify(input.metadata)) > LIMITS.maxMetadataBytes)
      throw badInput('input.metadata', 'is larger than 64 KiB');
  }
  const softSla = input.softSla ?? null;
  const hardSla = input.hardSla ?? null;
  for (const [f, d] of [
    ['softSla', softSla],
    ['hardSla', hardSla],
  ] as const)
    if (d && !isDate(d)) throw badInput(`input.${f}`, 'is not a date');
  checkSlas('input', softSla, hardSla);
  const callbackUrl = input.callbackUrl ? validateCallbackUrl(input.callbackUrl, callbacks) : null;
  if (!Array.isArray(input.jobs) || input.jobs.length === 0)
    throw badInput('input.jobs', 'a DAG needs at least one job');
  if (input.jobs.length > LIMITS.maxJobs) throw badInput('input.jobs', `at most ${LIMITS.maxJobs} jobs per DAG`);

  const dagCache = cachePolicyOf('input.cache', input.cache);
  const seen = new Set<string>();
  let totalBytes = 0;
  const jobs: NormalizedJob[] = input.jobs.map((j, i) => {
    const p = `input.jobs[${i}]`;
    if (!ID_PATTERN.test(j.id ?? '')) throw badInput(`${p}.id`, 'must match [A-Za-z0-9_.-]{1,128}', { jobId: j.id });
    if (seen.has(j.id)) throw badInput(`${p}.id`, `duplicate job id ${j.id}`, { jobId: j.id });
    seen.add(j.id);
    const jobName = (j.name ?? '').trim();
    if (jobName.length < 1 || jobName.length > 128)
      throw badInput(`${p}.name`, 'must be 1 to 128 characters', { jobId: j.id });
    const executor = j.executor ?? jobName.replace(/^\//, '');
    if (!ID_PATTERN.test(executor))
      throw badInput(`${p}.executor`, 'must match [A-Za-z0-9_.-]{1,128}', { jobId: j.id });
    const priority = intIn(`${p}.priority`, j.priority, 0, 0, LIMITS.maxPriority);
    const retryLimit = intIn(`${p}.retryLimit`, j.retryLimit, 0, 0, LIMITS.maxRetryLimit);
    const retryDelay = intIn(`${p}.retryDelay`, j.retryDelay, 0, 0, LIMITS.maxRetryDelay);
    const expireInSeconds =
      j.expireInSeconds == null ? null : intIn(`${p}.expireInSeconds`, j.expireInSeconds, 0, 1, 7 * 86_400);
    let dataJson: string | null = null;
    if (j.data !== undefined && j.data !== null) {
      dataJson = JSON.stringify(j.data);
      const bytes = Buffer.byteLength(dataJson);
      if (bytes > LIMITS.maxJobDataBytes)
        throw badInput(`${p}.data`, `is ${bytes} bytes; at most 256 KiB per job`, { jobId: j.id });
      totalBytes += bytes;
    }
    const dependencies = [...new Set(j.dependencies ?? [])];
    if (dependencies.includes(j.id))
      throw badInput(`${p}.dependencies`, `job ${j.id} depends on itself`, { jobId: j.id });
    for (const [f, d] of [
      ['startAfter', j.startAfter],
      ['keepUntil', j.keepUntil],
      ['softSla', j.softSla],
      ['hardSla', j.hardSla],
    ] as const) {
      if (d != null && !isDate(d)) throw badInput(`${p}.${f}`, 'is not a date', { jobId: j.id });
    }
    checkSlas(p, j.softSla ?? null, j.hardSla ?? null);
    if (j.partitionKey != null && (j.partitionKey.length < 1 || j.partitionKey.length > 255)) {
      throw badInput(`${p}.partitionKey`, 'must be 1 to 255 characters', { jobId: j.id });
    }
    const concurrency = concurrencyOf(p, j);
    const assets = (j.assets ?? []).map((a, k) => {
      if (!ASSET_KEY.test(a.key ?? ''))
        throw badInput(`${p}.assets[${k}].key`, 'must be 1-255 chars of [A-Za-z0-9_./-]', { jobId: j.id });
      return { key: a.key, kind: a.kind ?? null, isPrimary: a.isPrimary ?? false, isRequired: a.isRequired ?? true };
    });
    const cache = cachePolicyOf(`${p}.cache`, j.cache) ?? dagCache ?? { enabled: false, ttlSeconds: null, key: null };
    return {
      taskId: j.id,
      name: jobName,
      executor,
      priority,
      data: j.data ?? null,
      dataJson,
      dependencies,
      jobLevel: -1,
      retryLimit,
      retryDelay,
      retryBackoff: j.retryBackoff ?? false,
      startAfter: j.startAfter ?? null,
      expireInSeconds,
      keepUntil: j.keepUntil ?? null,
      softSla: j.softSla ?? null,
      hardSla: j.hardSla ?? null,
      requiresGpu: j.requiresGpu ?? false,
      partitionKey: j.partitionKey ?? null,
      ...concurrency,
      assets,
      cache,
    };
  });
  if (totalBytes > LIMITS.maxTotalDataBytes)
    throw badInput('input.jobs', `job data adds up to ${totalBytes} bytes; at most 16 MiB per DAG`);
  input.jobs.forEach((j, i) => {
    (j.dependencies ?? []).forEach((d, k) => {
      if (!seen.has(d)) throw badInput(`input.jobs[${i}].dependencies[${k}]`, `unknown job id ${d}`, { jobId: j.id });
    });
  });
  const cycle = findCycle(jobs);
  if (cycle) throw badInput('input.jobs', `dependency cycle: ${cycle.join(' → ')}`, { cycle });
  const levels = computeLevels(jobs);
  input.jobs.forEach((j, i) => {
    const level = levels.get(j.id)!;
    if (j.jobLevel != null && j.jobLevel !== level) {
      throw badInput(`input.jobs[${i}].jobLevel`, `is ${j.jobLevel} but the dependencies give ${level}`, {
        jobId: j.id,
      });
    }
    jobs[i].jobLevel = level;
  });
  const hash = createHash('sha256')
    .update(
      stableJson({
        name,
        metadata: input.metadata ?? null,
        softSla,
        hardSla,
        callbackUrl,
        jobs: jobs.map(hashedJob),
      }),
    )
    .digest('hex');
  return { id: input.id ?? null, name, metadata: input.metadata ?? null, softSla, hardSla, callbackUrl, jobs, hash };
}

/** A job's concurrency key and limit: both or neither; the limit at least 1, the key 1 to 255 characters. */
function concurrencyOf(p: string, j: JobInputLike): { concurrencyKey: string | null; concurrencyLimit: number | null } {
  const key = j.concurrencyKey ?? null;
  const limit = j.concurrencyLimit ?? null;
  if (key === null && limit === null) return { concurrencyKey: null, concurrencyLimit: null };
  if (key === null) throw badInput(`${p}.concurrencyKey`, 'is required with concurrencyLimit', { jobId: j.id });
  if (key.length < 1 || key.length > 255)
    throw badInput(`${p}.concurrencyKey`, 'must be 1 to 255 characters', { jobId: j.id });
  if (limit === null) throw badInput(`${p}.concurrencyLimit`, 'is required with concurrencyKey', { jobId: j.id });
  return { concurrencyKey: key, concurrencyLimit: intIn(`${p}.concurrencyLimit`, limit, 1, 1, 1_000_000) };
}
