import type { DataSource } from 'typeorm';
import { rows as sqlRows } from '../db/sql';
import type { AppConfig } from '../config/config';
import type { ExecutorSlots, GpuInfo } from '../entities/worker.entity';

export interface WorkerView {
  id: string;
  hostname: string;
  executors: string[];
  gpus: GpuInfo[];
  concurrency: number;
  activeJobs: number;
  lastSeenAt: Date;
  /** It says it is healthy and its heartbeats keep coming. */
  healthy: boolean;
  /** Per executor: its own concurrency and running jobs on this worker. */
  executorSlots: Record<string, ExecutorSlots>;
}

export interface QueueStatsView {
  executor: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Live, healthy workers hosting this executor. */
  workers: number;
}

/** The shared worker fleet and per-executor queue counts (the caller's own jobs). */
export class FleetService {
  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
  ) {}

  /**
   * A worker whose last heartbeat is older than this is not healthy, whatever it last
   * said (a worker that lost its database cannot say so): three heartbeats and a second.
   */
  get aliveMs(): number {
    const { heartbeatMs, workerStaleMs } = this.config.timings;
    return Math.min(workerStaleMs, 3 * heartbeatMs + 1_000);
  }

  /** Workers seen within the staleness window; silent ones drop out. */
  async workers(): Promise<WorkerView[]> {
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
    }> = await this.ds.query(
      `SELECT id, hostname, executors, gpus, concurrency, active_jobs, last_seen_at, executor_slots,
           healthy AND last_seen_at > now() - make_interval(secs => $2::double precision / 1000) AS healthy
         FROM workers WHERE last_seen_at > now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY id`,
      [this.config.timings.workerStaleMs, this.aliveMs],
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

  /** Executors that at least one live, healthy worker hosts (`gpu`: one with a GPU, for GPU jobs). */
  async hostedExecutors(): Promise<{ any: Set<string>; gpu: Set<string> }> {
    const any = new Set<string>();
    const gpu = new Set<string>();
    for (const w of await this.workers()) {
      if (!w.healthy) continue;
      for (const e of w.executors) {
        any.add(e);
        if (w.gpus.length > 0) gpu.add(e);
      }
    }
    return { any, gpu };
  }

  /**
   * Counts of the caller's jobs per executor, from Postgres, each with the live, healthy
   * workers hosting it (a heartbeat within `aliveMs`), in one statement.
   */
  async queues(tenantId: string): Promise<QueueStatsView[]> {
    return sqlRows(
      this.ds,
      `SELECT executor,
           count(*) FILTER (WHERE state = 'CREATED' AND pending_deps = 0 AND (start_after IS NULL OR start_after <= now()))::int AS waiting,
           count(*) FILTER (WHERE state = 'ACTIVE')::int AS active,
           count(*) FILTER (WHERE state = 'RETRY' OR (state = 'CREATED' AND start_after > now()))::int AS delayed,
           count(*) FILTER (WHERE state IN ('FAILED','EXPIRED'))::int AS failed,
           count(*) FILTER (WHERE state = 'COMPLETED')::int AS completed,
           (SELECT count(*)::int FROM workers w WHERE jobs.executor = ANY(w.executors) AND w.healthy
              AND w.last_seen_at > now() - make_interval(secs => $2::double precision / 1000)) AS workers
         FROM jobs WHERE tenant_id = $1 GROUP BY executor ORDER BY executor`,
      [tenantId, this.aliveMs],
    );
  }
}
