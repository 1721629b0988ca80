import { badInput } from '../errors/domain-error';
import type { RunContextLike } from '../core/executor-call';
import { staleAttempt, type AttemptGuard } from './attempt-guard';
import type { StateBackend, StateEntry } from './backends/state-backend';
import { assertStateKey, encodeStateWrite, type StateMetadata } from './state-value';
import type { TaskInstanceRef } from './task-instance-ref';

export interface RunContextOptions {
  /** Cap on one serialised value; 1 MiB by default (the backend enforces its own cap too). */
  maxValueBytes?: number;
}

export interface ReadOptions<T> {
  /** Read that task's latest try that holds the key, instead of the caller's own try. */
  fromTask?: string;
  default?: T;
}

export interface PullOptions<T> extends ReadOptions<T> {
  /** Fan-in: the first of these tasks (in this order) whose latest try holds the key. */
  fromTasks?: readonly string[];
}

export interface WriteOptions {
  metadata?: Record<string, unknown> | null;
}

/**
 * What an executor call uses to share small results with the other tasks of its DAG run:
 * `ctx.set("OCR_LINES", lines)` upstream, `ctx.get("OCR_LINES", { fromTask: "ocr" })`
 * downstream. Bound to one attempt (`ti`); every write first asks the guard that this
 * attempt is still current, whatever the backend.
 */
export class RunContext implements RunContextLike {
  constructor(
    readonly ti: TaskInstanceRef,
    private readonly backend: StateBackend,
    private readonly guard: AttemptGuard,
    private readonly opts: RunContextOptions = {},
  ) {}

  /** Store `value` under `key` for this attempt (overwrites). */
  async set(key: string, value: unknown, opts: WriteOptions = {}): Promise<void> {
    await this.write(key, value, opts.metadata);
  }

  /** The seed's xcom-style write; the same as `set`, with optional metadata. */
  async push(key: string, value: unknown, opts: WriteOptions = {}): Promise<void> {
    await this.write(key, value, opts.metadata);
  }

  /** The stored entry (value, metadata, try, time) rather than just the value. */
  async entry(key: string, opts: { fromTask?: string } = {}): Promise<StateEntry | null> {
    assertStateKey(key);
    if (opts.fromTask === undefined) return this.backend.get(this.ti, key);
    return this.fromTask(opts.fromTask, key, 'fromTask');
  }

  /** This attempt's value of `key`, or with `fromTask` that task's latest try holding it; else `default`. */
  async get<T = unknown>(key: string, opts: ReadOptions<T> = {}): Promise<T | undefined> {
    const found = await this.entry(key, { fromTask: opts.fromTask });
    return found ? (found.value as T) : opts.default;
  }

  /** Like `get`; with `fromTasks`, the first task in list order whose latest try holds the key. */
  async pull<T = unknown>(key: string, opts: PullOptions<T> = {}): Promise<T | undefined> {
    if (opts.fromTasks !== undefined && opts.fromTask !== undefined) {
      throw badInput('fromTasks', 'give fromTask or fromTasks, not both');
    }
    if (opts.fromTasks === undefined || opts.fromTasks.length === 0) {
      return this.get(key, { fromTask: opts.fromTask, default: opts.default });
    }
    assertStateKey(key);
    for (const [i, task] of opts.fromTasks.entries()) {
      const found = await this.fromTask(task, key, `fromTasks[${i}]`);
      if (found) return found.value as T;
    }
    return opts.default;
  }

  /** Every key this attempt stored so far. */
  async all(): Promise<StateEntry[]> {
    const { tenantId, dagName, dagId, taskId, tryNumber } = this.ti;
    return this.backend.list(tenantId, dagName, dagId, taskId, tryNumber);
  }

  private async fromTask(taskId: string, key: string, field: string): Promise<StateEntry | null> {
    let other: TaskInstanceRef;
    try {
      other = this.ti.forTask(taskId);
    } catch {
      throw badInput(field, `${JSON.stringify(taskId)} is not a valid task id`);
    }
    return this.backend.getLatestFromTask(other.tenantId, other.dagName, other.dagId, other.taskId, key);
  }

  private async write(key: string, value: unknown, metadata: Record<string, unknown> | null | undefined) {
    // Refuse bad input before touching Postgres; the backend applies the same rules again.
    encodeStateWrite(key, value, metadata, { maxValueBytes: this.opts.maxValueBytes });
    await guardedPut(this.backend, this.guard, this.ti, key, value, metadata as StateMetadata | null | undefined);
  }
}

/**
 * A write allowed only to the current attempt: one statement where the backend writes
 * to the database that holds `jobs` and the guard is a condition on it (checked and
 * written atomically), else the guard's check and then the write.
 */
export async function guardedPut(
  backend: StateBackend,
  guard: AttemptGuard,
  ti: TaskInstanceRef,
  key: string,
  value: unknown,
  metadata: StateMetadata | null | undefined,
): Promise<StateEntry> {
  const condition = guard.jobsCondition?.bind(guard);
  if (condition && backend.putIf) {
    const entry = await backend.putIf(ti, key, value, metadata, (firstParam) => condition(ti, firstParam));
    if (!entry) throw staleAttempt(ti);
    return entry;
  }
  await guard.assertCurrent(ti);
  return backend.put(ti, key, value, metadata);
}
