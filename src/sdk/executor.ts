import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ZodType } from 'zod';
import { NonRetryableError, type ExecutorCallContext, type ExecutorInvoker } from '../core/executor-call';
import { createStorage, persist, type PersistOutput, type PersistResult, type Storage } from './storage';

/** A document as executors receive it: JSON, with a few well-known fields. */
export interface JsonDocument {
  id?: string;
  /** Inline text content. */
  text?: string;
  /** Where the content lives: `file://…`, `s3://…`. */
  uri?: string;
  mimeType?: string;
  tags?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * What an endpoint receives first. Job `data` shape: `{ docs?: JsonDocument[], parameters?: {...} }`
 * (other keys are allowed and reach the method in `data`). When the job data holds neither
 * `docs` nor `parameters`, the whole `data` object is the parameters.
 */
export interface ExecutorInput<P = Record<string, unknown>> {
  docs: JsonDocument[];
  /** Validated (and defaulted) by the endpoint's `params` schema when it declares one. */
  parameters: P;
  /** The job's data as submitted. */
  data: unknown;
}

/** The per-call context an endpoint receives second: the worker's context plus storage. */
export interface CallContext extends ExecutorCallContext {
  /** The executor's name (its queue). */
  executor: string;
  storage: Storage;
  /**
   * Write outputs to storage and record them as materializations (size, checksum, uri,
   * version) with one tracker call. Recording errors never throw; see `record.ok`.
   */
  persist(outputs: PersistOutput[]): Promise<PersistResult>;
}

export interface ExecutorMetas {
  name?: string;
  description?: string;
  /** Root folder of executor workspaces; `<cwd>/.data/workspace` by default. */
  workspace?: string;
  /** The code version cache keys are computed with (YAML `metas.version`); none: its jobs never hit the cache. */
  version?: string;
}

export interface RuntimeArgs {
  replicaId: number;
  replicas: number;
}

export interface ExecutorOptions {
  /** Configuration (YAML `with`); checked against the class's `withSchema` when it has one. */
  with?: Record<string, unknown>;
  metas?: ExecutorMetas;
  runtimeArgs?: RuntimeArgs;
}

/** Thrown by the Executor constructor when `with` does not match the class's `withSchema`. */
export class ExecutorConfigError extends Error {
  constructor(
    /** Dotted path of the offending key, e.g. `with.threshold`. */
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'ExecutorConfigError';
  }
}

/** `a.b[2].c` from a zod issue path. */
export function formatPath(prefix: string, p: readonly PropertyKey[]): string {
  return p.reduce<string>(
    (acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : `${acc}${acc ? '.' : ''}${String(k)}`),
    prefix,
  );
}

interface Route {
  /** Normalised paths (`/extract`), or null for the default endpoint. */
  paths: string[] | null;
  method: string | symbol;
  params?: ZodType;
}

const ROUTES = new WeakMap<object, Route[]>();

/** `extract`, `/extract` and `/extract/` are the same endpoint. */
export const normalizeEndpoint = (name: string): string => `/${name.trim().replace(/^\/+|\/+$/g, '')}`;

export interface RequestsOptions {
  /** Endpoint path(s). None: the default endpoint, called for any name nothing else matches. */
  on?: string | string[];
  /** Schema of `input.parameters`, checked before the call; a mismatch fails the attempt with no retry. */
  params?: ZodType;
}

/**
 * Marks an Executor method as an endpoint: `@requests({ on: '/extract' })`, several paths
 * with `on: ['/a', '/b']`, or `@requests()` for the default endpoint. The method is called
 * with `(input: ExecutorInput, ctx: CallContext)` and may be sync or async; what it returns
 * is the job's output.
 */
export function requests(opts: RequestsOptions = {}) {
  return (target: object, method: string | symbol, descriptor: PropertyDescriptor): void => {
    if (typeof descriptor.value !== 'function') throw new Error(`@requests: ${String(method)} is not a method`);
    const own = ROUTES.get(target) ?? [];
    const paths = opts.on === undefined ? null : (Array.isArray(opts.on) ? opts.on : [opts.on]).map(normalizeEndpoint);
    if (paths && paths.length === 0) throw new Error(`@requests on ${String(method)}: "on" lists no path`);
    for (const r of own) {
      if (paths === null && r.paths === null) {
        throw new Error(`@requests: ${String(r.method)} and ${String(method)} are both the default endpoint`);
      }
      const clash = paths?.find((p) => r.paths?.includes(p));
      if (clash) throw new Error(`@requests: endpoint ${clash} is on both ${String(r.method)} and ${String(method)}`);
    }
    own.push({ paths, method, params: opts.params });
    ROUTES.set(target, own);
  };
}

/** The routes of an executor instance, subclass routes first (they override inherited ones). */
function routesOf(instance: object): Route[] {
  const out: Route[] = [];
  for (
    let p = Object.getPrototypeOf(instance) as object | null;
    p && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    out.push(...(ROUTES.get(p) ?? []));
  }
  return out;
}

/**
 * Base class of executors. Subclasses mark endpoints with `@requests`, may declare a
 * static `withSchema` (zod) for their `with` configuration, and may override `close()`.
 */
export abstract class Executor<W = Record<string, unknown>> {
  /** Validates (and defaults) `with`, in code and when loaded from YAML. */
  static withSchema?: ZodType;

  readonly with: W;
  readonly metas: { name: string; description?: string; workspace?: string; version?: string };
  readonly runtimeArgs: RuntimeArgs;
  /** Code fingerprint recorded with persisted assets (e.g. `git:abcd1234`). */
  codeFingerprint?: string;
  /** The code version its jobs' cache keys are computed with; YAML `metas.version` by default. None: never a cache hit. */
  codeVersion?: string;
  /** Prompt / model fingerprint recorded with persisted assets (e.g. `craft-ocr-v2`). */
  promptFingerprint?: string;
  private workspaceDir: string | null = null;

  constructor(opts: ExecutorOptions = {}) {
    const cls = new.target;
    const raw = opts.with ?? {};
    if (cls.withSchema) {
      const parsed = cls.withSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ExecutorConfigError(formatPath('with', issue.path), issue.message);
      }
      this.with = parsed.data as W;
    } else {
      this.with = raw as W;
    }
    this.metas = { ...opts.metas, name: opts.metas?.name ?? cls.name };
    this.runtimeArgs = opts.runtimeArgs ?? { replicaId: 0, replicas: 1 };
  }

  /** A folder of this executor's own (`<root>/<name>/<replicaId>`), created on first use. */
  get workspace(): string {
    if (this.workspaceDir === null) {
      const root = path.resolve(this.metas.workspace ?? path.join('.data', 'workspace'));
      const dir = path.join(root, this.metas.name.replace(/[^A-Za-z0-9_.-]/g, '_'), String(this.runtimeArgs.replicaId));
      mkdirSync(dir, { recursive: true });
      this.workspaceDir = dir;
    }
    return this.workspaceDir;
  }

  /** Called once when the worker shuts down. */
  async close(): Promise<void> {}
}

export interface ExecutorHostOptions {
  /** The executor (queue) name; the executor's `metas.name` by default. */
  name?: string;
  concurrency?: number;
  requiresGpu?: boolean;
  /** Where `persist()` writes; `file://<cwd>/.data/storage` by default. */
  storage?: Storage;
  /** Whether `close()` closes the storage too; by default only one the host made itself. */
  closeStorage?: boolean;
  /** The code version (overrides `metas.version` and the class's static `codeVersion`). */
  codeVersion?: string | null;
  /** Told about asset-recording failures (they never fail the job). */
  log?: { warn(obj: object, msg: string): void };
}

function describe(v: unknown): string {
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v;
}

/** Runs jobs on one Executor instance for the worker: the SDK side of `ExecutorInvoker`. */
export class ExecutorHost implements ExecutorInvoker {
  readonly name: string;
  readonly concurrency: number;
  readonly requiresGpu: boolean;
  private readonly givenCodeVersion: string | null;
  readonly storage: Storage;
  /** The executor instances, one per replica (`runtimeArgs.replicaId`). */
  readonly replicas: Executor<unknown>[];
  private readonly routes: Route[];
  private readonly inFlight: number[];
  private readonly log?: ExecutorHostOptions['log'];
  private readonly ownsStorage: boolean;
  private closed = false;

  /**
   * `executor`: one instance, or one per replica (same class); a call goes to the replica
   * with the fewest calls in flight. `concurrency` is the host's total.
   */
  constructor(executor: Executor<unknown> | Executor<unknown>[], opts: ExecutorHostOptions = {}) {
    this.replicas = Array.isArray(executor) ? executor : [executor];
    if (this.replicas.length === 0) throw new Error('ExecutorHost needs at least one executor');
    const first = this.replicas[0];
    this.name = opts.name ?? first.metas.name;
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
    this.requiresGpu = opts.requiresGpu ?? false;
    this.givenCodeVersion = opts.codeVersion ?? null;
    this.ownsStorage = opts.closeStorage ?? !opts.storage;
    this.storage = opts.storage ?? createStorage(`file://${path.resolve('.data', 'storage')}`);
    this.log = opts.log;
    this.routes = routesOf(first);
    this.inFlight = this.replicas.map(() => 0);
  }

  /** Its cache keys' code version: the option, else the executor's `codeVersion`, else `metas.version`. */
  get codeVersion(): string | null {
    return this.givenCodeVersion ?? this.replicas[0].codeVersion ?? this.replicas[0].metas.version ?? null;
  }

  /** The first (or only) executor instance. */
  get executor(): Executor<unknown> {
    return this.replicas[0];
  }

  /** The endpoint paths it serves; `*` stands for a default endpoint. */
  get endpoints(): string[] {
    return this.routes.flatMap((r) => r.paths ?? ['*']);
  }

  private route(endpoint: string): Route | undefined {
    const want = normalizeEndpoint(endpoint);
    return this.routes.find((r) => r.paths?.includes(want)) ?? this.routes.find((r) => r.paths === null);
  }

  async invoke(data: unknown, ctx: ExecutorCallContext): Promise<unknown> {
    const route = this.route(ctx.endpoint);
    if (!route) {
      throw new NonRetryableError(
        `executor "${this.name}" has no endpoint "${normalizeEndpoint(ctx.endpoint)}" (it serves: ${this.endpoints.join(', ') || 'none'})`,
      );
    }
    const where = `executor "${this.name}" endpoint "${normalizeEndpoint(ctx.endpoint)}"`;
    const obj =
      data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : null;
    const hasDocs = obj !== null && 'docs' in obj && obj.docs !== undefined;
    const hasParams = obj !== null && 'parameters' in obj && obj.parameters !== undefined;

    let docs: JsonDocument[] = [];
    if (hasDocs) {
      const d = obj.docs;
      if (!Array.isArray(d)) throw new NonRetryableError(`${where}: data.docs must be an array, got ${describe(d)}`);
      const bad = d.findIndex((x) => x === null || typeof x !== 'object' || Array.isArray(x));
      if (bad >= 0) throw new NonRetryableError(`${where}: data.docs[${bad}] must be a JSON object`);
      docs = d as JsonDocument[];
    }
    let parameters: unknown = hasParams ? obj.parameters : hasDocs ? {} : (data ?? {});
    if (route.params) {
      const parsed = route.params.safeParse(parameters);
      if (!parsed.success) {
        const msg = parsed.error.issues.map((i) => `${formatPath('parameters', i.path)}: ${i.message}`).join('; ');
        throw new NonRetryableError(`${where}: invalid parameters: ${msg}`);
      }
      parameters = parsed.data;
    }
    ctx.signal.throwIfAborted();

    const storage = this.storage;
    const slot = this.inFlight.indexOf(Math.min(...this.inFlight));
    const executor = this.replicas[slot];
    const log = this.log;
    const name = this.name;
    const callCtx: CallContext = {
      tenantId: ctx.tenantId,
      dagId: ctx.dagId,
      dagName: ctx.dagName,
      jobId: ctx.jobId,
      taskId: ctx.taskId,
      tryNumber: ctx.tryNumber,
      partitionKey: ctx.partitionKey,
      endpoint: ctx.endpoint,
      signal: ctx.signal,
      progress: (percent, message) => ctx.progress(percent, message),
      assets: ctx.assets,
      runContext: ctx.runContext,
      executor: name,
      storage,
      persist: (outputs) =>
        persist(
          {
            ...callCtx,
            codeFingerprint: executor.codeFingerprint,
            promptFingerprint: executor.promptFingerprint,
            onRecordError: (err) =>
              log?.warn({ err, executor: name, dagId: ctx.dagId, taskId: ctx.taskId }, 'asset recording failed'),
          },
          outputs,
        ),
    };
    const input: ExecutorInput<unknown> = { docs, parameters, data };
    const fn = (executor as unknown as Record<string | symbol, (i: unknown, c: CallContext) => unknown>)[route.method];
    this.inFlight[slot]++;
    try {
      return await fn.call(executor, input, callCtx);
    } finally {
      this.inFlight[slot]--;
    }
  }

  /** Shuts every replica down (its `close()`), then a storage it made itself; once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const results = await Promise.allSettled(this.replicas.map((e) => e.close()));
    if (this.ownsStorage) await this.storage.close();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
