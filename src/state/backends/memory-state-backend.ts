import { assertStateKey, encodeStateWrite, type JsonValue, type StateMetadata } from '../state-value';
import { checkTaskAddress, type TaskInstanceRef } from '../task-instance-ref';
import {
  byKey,
  entryOf,
  type BackendCommonOptions,
  type StateBackend,
  type StateEntry,
  type TaskAddress,
} from './state-backend';

interface Stored {
  tenantId: string;
  dagName: string;
  dagId: string;
  taskId: string;
  tryNumber: number;
  key: string;
  valueJson: string;
  metadataJson: string;
  createdAt: Date;
}

/**
 * In-process state (tests, a single process). Values are kept as JSON text, so a caller
 * that mutates what it stored or read changes nothing here.
 */
export class MemoryStateBackend implements StateBackend {
  readonly kind = 'memory' as const;
  readonly needsDagName = false;
  private readonly rows = new Map<string, Stored>();

  constructor(private readonly opts: BackendCommonOptions = {}) {}

  private static id(...parts: Array<string | number>): string {
    return JSON.stringify(parts);
  }

  private static entry(s: Stored): StateEntry {
    return entryOf(
      s.key,
      JSON.parse(s.valueJson) as JsonValue,
      JSON.parse(s.metadataJson) as StateMetadata,
      s.tryNumber,
      new Date(s.createdAt.getTime()),
    );
  }

  async put(ti: TaskInstanceRef, key: string, value: unknown, metadata?: StateMetadata | null): Promise<StateEntry> {
    const w = encodeStateWrite(key, value, metadata, this.opts);
    const row: Stored = {
      ...ti.toJSON(),
      key,
      valueJson: w.valueJson,
      metadataJson: w.metadataJson,
      createdAt: new Date(),
    };
    this.rows.set(MemoryStateBackend.id(ti.tenantId, ti.dagName, ti.dagId, ti.taskId, ti.tryNumber, key), row);
    return MemoryStateBackend.entry(row);
  }

  async get(ti: TaskInstanceRef, key: string): Promise<StateEntry | null> {
    assertStateKey(key);
    const row = this.rows.get(MemoryStateBackend.id(ti.tenantId, ti.dagName, ti.dagId, ti.taskId, ti.tryNumber, key));
    return row ? MemoryStateBackend.entry(row) : null;
  }

  private ofTask(tenantId: string, dagName: string | undefined, dagId: string, taskId: string): Stored[] {
    const out: Stored[] = [];
    for (const r of this.rows.values()) {
      if (
        r.tenantId === tenantId &&
        (dagName === undefined || r.dagName === dagName) &&
        r.dagId === dagId &&
        r.taskId === taskId
      ) {
        out.push(r);
      }
    }
    return out;
  }

  async getLatestFromTask(
    tenantId: string,
    dagName: string,
    dagId: string,
    taskId: string,
    key: string,
  ): Promise<StateEntry | null> {
    assertStateKey(key);
    let best: Stored | null = null;
    for (const r of this.ofTask(tenantId, dagName, dagId, taskId)) {
      if (r.key === key && (!best || r.tryNumber > best.tryNumber)) best = r;
    }
    return best ? MemoryStateBackend.entry(best) : null;
  }

  private latest(rows: Stored[], tryNumber?: number): StateEntry[] {
    const tryWanted = tryNumber ?? Math.max(-1, ...rows.map((r) => r.tryNumber));
    return rows
      .filter((r) => r.tryNumber === tryWanted)
      .map((r) => MemoryStateBackend.entry(r))
      .sort(byKey);
  }

  async list(
    tenantId: string,
    dagName: string,
    dagId: string,
    taskId: string,
    tryNumber?: number,
  ): Promise<StateEntry[]> {
    return this.latest(this.ofTask(tenantId, dagName, dagId, taskId), tryNumber);
  }

  async listLatestForTasks(tenantId: string, tasks: readonly TaskAddress[]): Promise<StateEntry[][]> {
    return tasks.map((t) => this.latest(this.ofTask(tenantId, t.dagName, t.dagId, t.taskId)));
  }

  async clearTask(tenantId: string, dagName: string, dagId: string, taskId: string): Promise<void> {
    checkTaskAddress(tenantId, dagName, dagId, taskId);
    for (const [id, r] of this.rows) {
      if (r.tenantId === tenantId && r.dagName === dagName && r.dagId === dagId && r.taskId === taskId) {
        this.rows.delete(id);
      }
    }
  }

  async close(): Promise<void> {
    this.rows.clear();
  }
}
