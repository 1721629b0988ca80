import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z, type ZodType } from 'zod';
import type { ExecutorInvoker } from '../core/executor-call';
import {
  Executor,
  ExecutorConfigError,
  ExecutorHost,
  formatPath,
  type ExecutorHostOptions,
  type ExecutorOptions,
} from './executor';
import { createStorage, type S3StorageOptions, type Storage } from './storage';
import { importExecutorModule } from './ts-module';

/** A concrete executor class, as YAML `jtype` names it. */
export type ExecutorClass = new (opts: ExecutorOptions) => Executor<unknown>;

const registry = new Map<string, ExecutorClass>();

/** Make an executor class known to YAML configs under `name` (its `jtype`). */
export function registerExecutor(name: string, cls: ExecutorClass): void {
  registry.set(name, cls);
}

/** Forget a registration (tests). */
export function unregisterExecutor(name: string): void {
  registry.delete(name);
}

/** How a built-in type makes its invoker from a checked YAML entry. */
export interface ExecutorTypeEntry {
  /** `with`, as the type's `withSchema` parsed it. */
  with: unknown;
  name: string;
  concurrency?: number;
  requiresGpu: boolean;
}

/**
 * A built-in executor type the hosting process provides (the worker's `RemoteExecutor`):
 * no class to load, an invoker of its own. Its `with` is checked against `withSchema`.
 */
export interface ExecutorType {
  withSchema: ZodType;
  create(entry: ExecutorTypeEntry): ExecutorInvoker;
}

const types = new Map<string, ExecutorType>();

/** Make a built-in type known to worker configs under `jtype` (the worker registers its own). */
export function registerExecutorType(jtype: string, type: ExecutorType): void {
  types.set(jtype, type);
}

const isExecutorClass = (v: unknown): v is ExecutorClass =>
  typeof v === 'function' &&
  (v.prototype instanceof Executor || typeof (v.prototype as { close?: unknown } | undefined)?.close === 'function');

/** One executor of a config file. Unknown keys are errors, so typos do not pass silently. */
const entrySchema = z.strictObject({
  jtype: z.string().min(1),
  with: z.record(z.string(), z.unknown()).nullish(),
  metas: z
    .strictObject({
      name: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits, "_", "." or "-" (1 to 128)')
        .optional(),
      description: z.string().optional(),
      workspace: z.string().optional(),
      version: z.string().min(1).max(128).optional(),
    })
    .nullish(),
  modules: z.union([z.string(), z.array(z.string())]).nullish(),
  /** Calls run at once on this executor (all replicas together). */
  concurrency: z.number().int().min(1).max(1000).optional(),
  gpu: z.boolean().optional(),
  requiresGpu: z.boolean().optional(),
  replicas: z.number().int().min(1).max(64).optional(),
});

const fileSchema = z.strictObject({
  /** Storage URL for `persist()`: `file://<dir>` (relative to the YAML file) or `s3://bucket/prefix`. */
  storage: z.string().optional(),
  executors: z.array(z.unknown()).min(1),
});

export type ExecutorEntry = z.infer<typeof entrySchema>;

export interface LoadExecutorConfigOptions {
  /** Storage for every host (overrides the file's `storage:`). */
  storage?: Storage;
  /** Storage URL when `storage` is not given and the file names none; `file://<cwd>/.data/storage` by default. */
  storageUrl?: string;
  s3?: S3StorageOptions;
  log?: ExecutorHostOptions['log'];
}

/** An error in an executor config file, naming the file and the key. */
export class ExecutorConfigFileError extends Error {
  constructor(
    readonly file: string,
    readonly key: string | null,
    detail: string,
  ) {
    super(key ? `${file}: ${key}: ${detail}` : `${file}: ${detail}`);
    this.name = 'ExecutorConfigFileError';
  }
}

/**
 * Load executors from YAML, like the seed's: a document with an `executors:` list, or a
 * single executor document. Each entry: `jtype` (class name), `with` (constructor
 * configuration, checked against the class's static `withSchema`), `metas` (name,
 * description, workspace), `modules` (JS/TS files, relative to the YAML file, that export
 * or `registerExecutor` the classes; on plain Node a `.ts` file loads through its dist/
 * twin or is transpiled on load, see ts-module.ts), `concurrency`, `gpu`/`requiresGpu`, `replicas`.
 * Returns one ExecutorHost per entry.
 */
export async function loadExecutorConfig(file: string, opts: LoadExecutorConfigOptions = {}): Promise<ExecutorHost[]> {
  return (await loadExecutors(file, opts, false)) as ExecutorHost[];
}

/**
 * A worker's config: as loadExecutorConfig, plus the built-in types the worker registered
 * (`jtype: RemoteExecutor`), whose invokers are not ExecutorHosts.
 */
export async function loadWorkerExecutorConfig(
  file: string,
  opts: LoadExecutorConfigOptions = {},
): Promise<ExecutorInvoker[]> {
  return loadExecutors(file, opts, true);
}

async function loadExecutors(
  file: string,
  opts: LoadExecutorConfigOptions,
  withTypes: boolean,
): Promise<ExecutorInvoker[]> {
  const fail = (key: string | null, detail: string): never => {
    throw new ExecutorConfigFileError(file, key, detail);
  };
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    return fail(null, `cannot read: ${(err as Error).message}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) fail(null, `invalid YAML: ${doc.errors[0].message}`);
  const root: unknown = doc.toJS();
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    return fail(null, 'expected a mapping with "executors:" or a single executor ("jtype:")');
  }

  let rawEntries: unknown[];
  let storageUrl: string | undefined;
  let prefix: (i: number) => string;
  if ('executors' in root) {
    const parsed = fileSchema.safeParse(root);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail(formatPath('', issue.path) || '(root)', issue.message);
    }
    rawEntries = parsed.data.executors;
    storageUrl = parsed.data.storage;
    prefix = (i) => `executors[${i}]`;
  } else {
    rawEntries = [root];
    prefix = () => '';
  }

  const entries = rawEntries.map((raw, i) => {
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      const keyPath = unknownKeys.length ? [...issue.path, unknownKeys[0]] : issue.path;
      return fail(formatPath(prefix(i), keyPath) || '(root)', unknownKeys.length ? 'unknown key' : issue.message);
    }
    return parsed.data;
  });

  // Modules first (they may register classes), remembering what each exports.
  const exported = new Map<string, ExecutorClass>();
  for (const [i, e] of entries.entries()) {
    const mods = e.modules == null ? [] : Array.isArray(e.modules) ? e.modules : [e.modules];
    for (const [j, m] of mods.entries()) {
      const key = formatPath(prefix(i), Array.isArray(e.modules) ? ['modules', j] : ['modules']);
      let mod: Record<string, unknown>;
      try {
        mod = await importExecutorModule(path.resolve(dir, m));
      } catch (err) {
        return fail(key, `cannot load module "${m}": ${(err as Error).message}`);
      }
      for (const [name, v] of Object.entries(mod)) if (isExecutorClass(v)) exported.set(name, v);
    }
  }

  const storage =
    opts.storage ??
    createStorage(opts.storageUrl ?? storageUrl ?? `file://${path.resolve('.data', 'storage')}`, {
      s3: opts.s3,
      cwd: dir,
    });
  // Shared by the hosts; the last one to close closes it (unless the caller owns it).
  let users = entries.length;
  const shared: Storage = {
    url: storage.url,
    put: (k, b, t) => storage.put(k, b, t),
    get: (u) => storage.get(u),
    close: async () => {
      if (--users === 0 && !opts.storage) await storage.close();
    },
  };
  const hosts: ExecutorInvoker[] = [];
  try {
    const names = new Set<string>();
    for (const [i, e] of entries.entries()) {
      const at = (k: string) => formatPath(prefix(i), [k]);
      const metas = {
        name: e.metas?.name ?? e.jtype,
        description: e.metas?.description,
        workspace: e.metas?.workspace ? path.resolve(dir, e.metas.workspace) : undefined,
        version: e.metas?.version,
      };
      if (names.has(metas.name))
        fail(formatPath(prefix(i), ['metas', 'name']), `duplicate executor name "${metas.name}"`);
      names.add(metas.name);
      const type = types.get(e.jtype);
      if (type && !exported.has(e.jtype)) {
        if (!withTypes) fail(at('jtype'), `${e.jtype} is hosted by a worker: run it with "marie worker --config"`);
        hosts.push(createOfType(type, e, metas.name, (k, d) => fail(formatPath(prefix(i), k), d)));
        users--;
        continue;
      }
      const cls = registry.get(e.jtype) ?? exported.get(e.jtype);
      if (!cls) {
        const known = [...new Set([...registry.keys(), ...exported.keys(), ...(withTypes ? types.keys() : [])])].sort();
        fail(at('jtype'), `unknown executor "${e.jtype}"${known.length ? ` (known: ${known.join(', ')})` : ''}`);
      }
      const replicas = e.replicas ?? 1;
      const instances: Executor<unknown>[] = [];
      for (let r = 0; r < replicas; r++) {
        try {
          instances.push(new cls!({ with: e.with ?? {}, metas, runtimeArgs: { replicaId: r, replicas } }));
        } catch (err) {
          await Promise.allSettled(instances.map((x) => x.close()));
          if (err instanceof ExecutorConfigError)
            fail(formatPath(prefix(i), [...err.key.split('.')]), err.message.slice(err.key.length + 2));
          fail(prefix(i) || null, `${e.jtype} failed to start: ${(err as Error).message}`);
        }
      }
      hosts.push(
        new ExecutorHost(instances, {
          name: metas.name,
          concurrency: e.concurrency,
          requiresGpu: e.requiresGpu ?? e.gpu ?? false,
          storage: shared,
          closeStorage: true,
          log: opts.log,
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(hosts.map(async (h) => h.close?.()));
    if (!opts.storage) await storage.close();
    throw err;
  }
  if (users === 0 && !opts.storage) await storage.close();
  return hosts;
}

/** A built-in type's invoker; `with` errors name the YAML key (`with.url`). */
function createOfType(
  type: ExecutorType,
  e: ExecutorEntry,
  name: string,
  fail: (key: PropertyKey[], detail: string) => never,
): ExecutorInvoker {
  if (e.modules != null) fail(['modules'], `${e.jtype} is built in: it takes no modules`);
  if (e.replicas !== undefined)
    fail(['replicas'], `${e.jtype} takes no replicas (scale the remote, or its concurrency)`);
  const parsed = type.withSchema.safeParse(e.with ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const keyPath = unknownKeys.length ? [...issue.path, unknownKeys[0]] : issue.path;
    fail(['with', ...keyPath], unknownKeys.length ? 'unknown key' : issue.message);
  }
  return type.create({
    with: parsed.data,
    name,
    concurrency: e.concurrency,
    requiresGpu: e.requiresGpu ?? e.gpu ?? false,
  });
}
