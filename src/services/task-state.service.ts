import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { badInput, notFound } from '../errors/domain-error';
import { PostgresAttemptGuard, type AttemptGuard } from '../state/attempt-guard';
import type { StateBackend, StateEntry, TaskAddress } from '../state/backends/state-backend';
import { createBackend, createBackendFromUrl } from '../state/create-backend';
import { guardedPut, RunContext } from '../state/run-context';
import { encodeStateWrite, type StateMetadata } from '../state/state-value';
import { TaskInstanceRef, type TaskInstanceFields } from '../state/task-instance-ref';

export interface SetTaskStateArgs {
  dagId: string;
  taskId: string;
  tryNumber: number;
  key: string;
  value: unknown;
  metadata?: Record<string, unknown> | null;
}

/** Finds a DAG's name from its id, within a tenant (null: no such DAG for that tenant). */
export type DagNameLookup = (tenantId: string, dagId: string) => Promise<string | null>;

/** The backend the configuration names: TASK_STATE_URL, or the main database by default. */
export function taskStateBackendFor(config: AppConfig, ds: DataSource): StateBackend {
  const common = { maxValueBytes: config.taskState.maxValueBytes };
  if (!config.taskStateUrl) return createBackend('postgres', { ...common, dataSource: ds });
  return createBackendFromUrl(config.taskStateUrl, { ...common, dataSource: ds, s3: config.taskState.s3 });
}

/**
 * The state kernel's service: one configured backend, the attempt guard every write
 * passes, RunContexts for executor calls, and the reads and writes of the GraphQL API.
 */
export class TaskStateService {
  /** A DAG's name by its id (the DAG service owns the dags table); without one every DAG reads as missing. */
  dagNameOf: DagNameLookup;

  constructor(
    readonly backend: StateBackend,
    /** PostgresAttemptGuard in the app; swappable (tests install their own). */
    public guard: AttemptGuard,
    private readonly opts: { maxValueBytes?: number; dagNameOf?: DagNameLookup } = {},
  ) {
    this.dagNameOf = opts.dagNameOf ?? (async () => null);
  }

  static create(config: AppConfig, ds: DataSource, dagNameOf?: DagNameLookup): TaskStateService {
    return new TaskStateService(taskStateBackendFor(config, ds), new PostgresAttemptGuard(ds), {
      maxValueBytes: config.taskState.maxValueBytes,
      dagNameOf,
    });
  }

  /** The RunContext of one executor call: the job's tenant, DAG, task and try. */
  runContextFor(job: TaskInstanceFields, attemptGuard?: AttemptGuard): RunContext {
    // The guard is read at each write, so a guard installed later applies too. Our own
    // workers pass one bound to their attempt (try, dispatch and lease).
    const installed = () => this.guard;
    const guard: AttemptGuard = attemptGuard ?? {
      assertCurrent: (ti) => installed().assertCurrent(ti),
      get jobsCondition() {
        const g = installed();
        return g.jobsCondition?.bind(g);
      },
    };
    return new RunContext(TaskInstanceRef.fromJob(job), this.backend, guard, {
      maxValueBytes: this.opts.maxValueBytes,
    });
  }

  /** Before a retry or a lease-expired rerun: the task's state of every try goes. */
  clearTask(tenantId: string, dagName: string, dagId: string, taskId: string): Promise<void> {
    return this.backend.clearTask(tenantId, dagName, dagId, taskId);
  }

  private async dagName(tenantId: string, dagId: string): Promise<string> {
    const name = await this.dagNameOf(tenantId, dagId);
    if (name === null) throw notFound('DAG', { dagId });
    return name;
  }

  private ref(fields: TaskInstanceFields): TaskInstanceRef {
    try {
      return new TaskInstanceRef(fields);
    } catch (err) {
      const field = (err as { details?: { field?: string } }).details?.field;
      throw badInput(`input.${field ?? 'taskId'}`, (err as Error).message.replace(/^[^:]*: /, ''));
    }
  }

  /**
   * setTaskState: the job must be ACTIVE at that try (the guard), else CONFLICT. `guard`
   * replaces the service's (an attempt token's: that exact dispatch).
   */
  async set(tenantId: string, input: SetTaskStateArgs, dagName?: string, guard?: AttemptGuard): Promise<StateEntry> {
    encodeStateWrite(input.key, input.value, input.metadata, {
      maxValueBytes: this.opts.maxValueBytes,
      fieldPrefix: 'input.',
    });
    const name = dagName ?? (await this.dagName(tenantId, input.dagId));
    const ti = this.ref({
      tenantId,
      dagName: name,
      dagId: input.dagId,
      taskId: input.taskId,
      tryNumber: input.tryNumber,
    });
    return guardedPut(
      this.backend,
      guard ?? this.guard,
      ti,
      input.key,
      input.value,
      input.metadata as StateMetadata | null | undefined,
    );
  }

  /** What a task stored at `tryNumber`, or in its latest try; NOT_FOUND for a DAG the tenant does not have. */
  async list(tenantId: string, dagId: string, taskId: string, tryNumber?: number | null): Promise<StateEntry[]> {
    const name = await this.dagName(tenantId, dagId);
    if (tryNumber !== undefined && tryNumber !== null && (!Number.isInteger(tryNumber) || tryNumber < 0)) {
      throw badInput('tryNumber', 'must be an integer from 0');
    }
    try {
      new TaskInstanceRef({ tenantId, dagName: name, dagId, taskId, tryNumber: tryNumber ?? 0 });
    } catch {
      return []; // a task id that cannot exist holds nothing
    }
    return this.backend.list(tenantId, name, dagId, taskId, tryNumber ?? undefined);
  }

  /** The latest try's entries of many tasks (the `taskStateByTask` DataLoader's batch). */
  async listLatestForTasks(tenantId: string, tasks: ReadonlyArray<{ dagId: string; taskId: string }>) {
    let addresses: TaskAddress[] = tasks.map((t) => ({ dagId: t.dagId, taskId: t.taskId }));
    if (this.backend.needsDagName) {
      const ids = [...new Set(tasks.map((t) => t.dagId))];
      const names = new Map(
        await Promise.all(ids.map(async (id) => [id, await this.dagNameOf(tenantId, id)] as const)),
      );
      addresses = tasks.map((t) => ({ ...t, dagName: names.get(t.dagId) ?? undefined }));
      const known = addresses.filter((a) => a.dagName !== undefined);
      const found = await this.backend.listLatestForTasks(tenantId, known);
      const byTask = new Map(known.map((a, i) => [a, found[i] ?? []]));
      return addresses.map((a) => byTask.get(a) ?? []);
    }
    return this.backend.listLatestForTasks(tenantId, addresses);
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}
