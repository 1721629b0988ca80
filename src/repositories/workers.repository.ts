import { rows as sqlRows, type SqlRunner } from '../db/sql';
import type { ExecutorSlots, GpuInfo } from '../entities/worker.entity';

/** A worker's row, as the fleet reads it. */
export interface WorkerRow {
  id: string;
  hostname: string;
  executors: string[];
  gpus: GpuInfo[];
  concurrency: number;
  activeJobs: number;
  lastSeenAt: Date;
  /** It says it is healthy and its last heartbeat is within the alive window. */
  healthy: boolean;
  executorSlots: Record<string, ExecutorSlots>;
}

/** What a worker says of itself at each heartbeat. */
export interface Heartbeat {
  id: string;
  hostname: string;
  executors: string[];
  gpusJson: string;
  concurrency: number;
  activeJobs: number;
  healthy: boolean;
  executorSlotsJson: string;
}

export interface QueueCounts {
  executor: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Live, healthy workers hosting this executor. */
  workers: number;
}

/** SQL on `workers` (and the per-executor job counts the fleet shows with them). */
export class WorkersRepository {
  /** Workers seen within `staleMs`; healthy when they say so and were seen within `aliveMs`. */
  async seen(m: SqlRunner, staleMs: number, aliveMs: number): Promise<WorkerRow[]> {
    const rows: Array<{
      id: string;
      hostname: string;
      executors: string[];
      gpus: GpuInfo[];
      concurrency: number;
      active_jobs: number;
      last_seen_at: Date;
      healthy: boolean;
      executor_slots: Record<string, ExecutorSlots>;
    }> = await sqlRows(
      m,
      `SELECT id, hostname, executors, gpus, concurrency, active_jobs, last_seen_at, executor_slots,
           healthy AND last_seen_at > now() - make_interval(secs => $2::double precision / 1000) AS healthy
         FROM workers WHERE last_seen_at > now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY id`,
      [staleMs, aliveMs],
    );
    return rows.map((r) => ({
      id: r.id,
      hostname: r.hostname,
      executors: r.executors,
      gpus: r.gpus,
      concurrency: r.concurrency,
      activeJobs: r.active_jobs,
      lastSeenAt: r.last_seen_at,
      healthy: r.healthy,
      executorSlots: r.executor_slots ?? {},
    }));
  }

  /** Insert or refresh a worker's row. */
  async heartbeat(m: SqlRunner, w: Heartbeat): Promise<void> {
    await m.query(
      `INSERT INTO workers (id, hostname, executors, gpus, concurrency, active_jobs, healthy, executor_slots, started_at, last_seen_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now())
       ON CONFLICT (id) DO UPDATE SET executors = EXCLUDED.executors, gpus = EXCLUDED.gpus,
         concurrency = EXCLUDED.concurrency, active_jobs = EXCLUDED.active_jobs, healthy = EXCLUDED.healthy,
         executor_slots = EXCLUDED.executor_slots, last_seen_at = now()`,
      [w.id, w.hostname, w.executors, w.gpusJson, w.concurrency, w.activeJobs, w.healthy, w.executorSlotsJson],
    );
  }

  async remove(m: SqlRunner, id: string): Promise<void> {
    await m.query(`DELETE FROM workers WHERE id = $1`, [id]);
  }

  /** Workers silent for longer than `silentMs` leave the table. */
  async forgetSilent(m: SqlRunner, silentMs: number): Promise<void> {
    await m.query(
      `DELETE FROM workers WHERE last_seen_at < now() - make_interval(secs => $1::double precision / 1000)`,
      [silentMs],
    );
  }

  /** Counts of a tenant's jobs per executor, each with the live, healthy workers hosting it, in one statement. */
  async queueCounts(m: SqlRunner, tenantId: string, aliveMs: number): Promise<QueueCounts[]> {
    return sqlRows(
      m,
      `SELECT executor,
           count(*) FILTER (WHERE state = 'CREATED' AND pending_deps = 0 AND (start_after IS NULL OR start_after <= now()))::int AS waiting,
           count(*) FILTER (WHERE state = 'ACTIVE')::int AS active,
           count(*) FILTER (WHERE state = 'RETRY' OR (state = 'CREATED' AND start_after > now()))::int AS delayed,
           count(*) FILTER (WHERE state IN ('FAILED','EXPIRED'))::int AS failed,
           count(*) FILTER (WHERE state = 'COMPLETED')::int AS completed,
           (SELECT count(*)::int FROM workers w WHERE jobs.executor = ANY(w.executors) AND w.healthy
              AND w.last_seen_at > now() - make_interval(secs => $2::double precision / 1000)) AS workers
         FROM jobs WHERE tenant_id = $1 GROUP BY executor ORDER BY executor`,
      [tenantId, aliveMs],
    );
  }
}
