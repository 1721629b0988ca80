import { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { assertStateKey, encodeStateWrite, type JsonValue, type StateMetadata } from '../state-value';
import type { GuardCondition } from '../attempt-guard';
import { jobExistsSql } from '../../repositories/job-leases.repository';
import { checkTaskAddress, type TaskInstanceRef } from '../task-instance-ref';
import {
  entryOf,
  type BackendCommonOptions,
  type StateBackend,
  type StateEntry,
  type TaskAddress,
} from './state-backend';

export interface PostgresStateBackendOptions extends BackendCommonOptions {
  /** The app's DataSource (statements are counted by its SqlCounter)… */
  dataSource?: DataSource;
  /** …or a connection URL: the backend opens (and closes) its own pool. */
  url?: string;
  poolSize?: number;
}

interface Row {
  key: string;
  value_json: JsonValue;
  metadata: StateMetadata | null;
  try_number: number;
  created_at: Date;
  dag_id?: string;
  task_id?: string;
}

const COLUMNS = 'key, value_json, metadata, try_number, created_at';
const toEntry = (r: Row): StateEntry => entryOf(r.key, r.value_json, r.metadata, r.try_number, r.created_at);

/**
 * The seed's `task_state` table (migration TaskState1763843000000): one row per
 * (tenant_id, dag_name, dag_id, task_id, try_number, key), value in `value_json` (jsonb),
 * upserted on overwrite. A database named by URL must have this project's migrations applied.
 */
export class PostgresStateBackend implements StateBackend {
  readonly kind = 'postgres' as const;
  readonly needsDagName = false;
  private readonly pool: Pool | null;
  private readonly run: (sql: string, params: unknown[]) => Promise<Row[]>;
  readonly putIf?: StateBackend['putIf'];

  constructor(private readonly opts: PostgresStateBackendOptions) {
    if (opts.url) {
      const pool = new Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, application_name: 'marie-state' });
      this.pool = pool;
      this.run = async (sql, params) => (await pool.query(sql, params)).rows as Row[];
    } else if (opts.dataSource) {
      const ds = opts.dataSource;
      this.pool = null;
      this.run = (sql, params) => ds.query(sql, params);
      // Same database as `jobs`: the attempt guard can be folded into the write.
      this.putIf = (ti, key, value, metadata, guard) => this.upsert(ti, key, value, metadata, guard);
    } else {
      throw new Error('PostgresStateBackend needs a dataSource or a url');
    }
  }

  async put(ti: TaskInstanceRef, key: string, value: unknown, metadata?: StateMetadata | null): Promise<StateEntry> {
    return (await this.upsert(ti, key, value, metadata, null))!;
  }

  /**
   * The upsert; with a guard, one `INSERT … SELECT … WHERE EXISTS (the job row, FOR SHARE)`:
   * the job cannot change state between the check and the write, and a stale attempt
   * writes nothing (null).
   */
  private async upsert(
    ti: TaskInstanceRef,
    key: string,
    value: unknown,
    metadata: StateMetadata | null | undefined,
    guardAt: ((firstParam: number) => GuardCondition) | null,
  ): Promise<StateEntry | null> {
    const w = encodeStateWrite(key, value, metadata, this.opts);
    const guard = guardAt?.(9) ?? null;
    const values = `$1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, clock_timestamp()`;
    const rows = await this.run(
      `INSERT INTO task_state (tenant_id, dag_name, dag_id, task_id, try_number, key, value_json, metadata, created_at)
       ${guard ? `SELECT ${values} WHERE ${jobExistsSql(guard.sql)}` : `VALUES (${values})`}
       ON CONFLICT (tenant_id, dag_name, dag_id, task_id, try_number, key)
       DO UPDATE SET value_json = EXCLUDED.value_json, metadata = EXCLUDED.metadata, created_at = EXCLUDED.created_at
       RETURNING ${COLUMNS}`,
      [
        ti.tenantId,
        ti.dagName,
        ti.dagId,
        ti.taskId,
        ti.tryNumber,
        key,
        w.valueJson,
        w.metadataJson,
        ...(guard?.params ?? []),
      ],
    );
    return rows[0] ? toEntry(rows[0]) : null;
  }

  async get(ti: TaskInstanceRef, key: string): Promise<StateEntry | null> {
    assertStateKey(key);
    const rows = await this.run(
      `SELECT ${COLUMNS} FROM task_state
       WHERE tenant_id = $1 AND dag_name = $2 AND dag_id = $3 AND task_id = $4 AND try_number = $5 AND key = $6`,
      [ti.tenantId, ti.dagName, ti.dagId, ti.taskId, ti.tryNumber, key],
    );
    return rows[0] ? toEntry(rows[0]) : null;
  }

  async getLatestFromTask(
    tenantId: string,
    dagName: string,
    dagId: string,
    taskId: string,
    key: string,
  ): Promise<StateEntry | null> {
    assertStateKey(key);
    const rows = await this.run(
      `SELECT ${COLUMNS} FROM task_state
       WHERE tenant_id = $1 AND dag_name = $2 AND dag_id = $3 AND task_id = $4 AND key = $5
       ORDER BY try_number DESC LIMIT 1`,
      [tenantId, dagName, dagId, taskId, key],
    );
    return rows[0] ? toEntry(rows[0]) : null;
  }

  async list(
    tenantId: string,
    dagName: string,
    dagId: string,
    taskId: string,
    tryNumber?: number,
  ): Promise<StateEntry[]> {
    const rows = await this.run(
      `SELECT ${COLUMNS} FROM task_state s
       WHERE tenant_id = $1 AND dag_name = $2 AND dag_id = $3 AND task_id = $4
         AND try_number = COALESCE($5::int, (
           SELECT max(try_number) FROM task_state
           WHERE tenant_id = $1 AND dag_name = $2 AND dag_id = $3 AND task_id = $4))
       ORDER BY key COLLATE "C"`,
      [tenantId, dagName, dagId, taskId, tryNumber ?? null],
    );
    return rows.map(toEntry);
  }

  async listLatestForTasks(tenantId: string, tasks: readonly TaskAddress[]): Promise<StateEntry[][]> {
    if (tasks.length === 0) return [];
    // DAG ids are unique within a tenant, so (dag_id, task_id) names a task without its DAG name.
    const rows = await this.run(
      `WITH wanted AS (SELECT DISTINCT * FROM unnest($2::text[], $3::text[]) AS w(dag_id, task_id)),
       latest AS (
         SELECT s.dag_id, s.task_id, max(s.try_number) AS try_number
         FROM task_state s JOIN wanted w ON w.dag_id = s.dag_id AND w.task_id = s.task_id
         WHERE s.tenant_id = $1
         GROUP BY s.dag_id, s.task_id)
       SELECT s.dag_id, s.task_id, ${COLUMNS.split(', ')
         .map((c) => `s.${c}`)
         .join(', ')}
       FROM task_state s
       JOIN latest l ON l.dag_id = s.dag_id AND l.task_id = s.task_id AND l.try_number = s.try_number
       WHERE s.tenant_id = $1
       ORDER BY s.key COLLATE "C"`,
      [tenantId, tasks.map((t) => t.dagId), tasks.map((t) => t.taskId)],
    );
    const byTask = new Map<string, StateEntry[]>();
    for (const r of rows) {
      const id = `${r.dag_id}\u0000${r.task_id}`;
      let list = byTask.get(id);
      if (!list) byTask.set(id, (list = []));
      list.push(toEntry(r));
    }
    return tasks.map((t) => byTask.get(`${t.dagId}\u0000${t.taskId}`) ?? []);
  }

  async clearTask(tenantId: string, dagName: string, dagId: string, taskId: string): Promise<void> {
    checkTaskAddress(tenantId, dagName, dagId, taskId);
    await this.run(`DELETE FROM task_state WHERE tenant_id = $1 AND dag_name = $2 AND dag_id = $3 AND task_id = $4`, [
      tenantId,
      dagName,
      dagId,
      taskId,
    ]);
  }

  async close(): Promise<void> {
    await this.pool?.end();
  }
}
