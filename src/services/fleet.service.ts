import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import type { GpuInfo } from '../entities/worker.entity';

export interface WorkerView {
  id: string;
  hostname: string;
  executors: string[];
  gpus: GpuInfo[];
  concurrency: number;
  activeJobs: number;
  lastSeenAt: Date;
  healthy: boolean;
}

export interface QueueStatsView {
  executor: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

/** The shared worker fleet and per-executor queue counts (the caller's own jobs). */
export class FleetService {
  /** Filled in by the DAG engine: counts of a tenant's jobs per executor. */
  queueStatsSource: ((tenantId: string) => Promise<QueueStatsView[]>) | null = null;

  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
  ) {}

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
    }> = await this.ds.query(
      `SELECT id, hostname, executors, gpus, concurrency, active_jobs, last_seen_at, healthy
         FROM workers WHERE last_seen_at > now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY id`,
      [this.config.timings.workerStaleMs],
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
    }));
  }

  async queues(tenantId: string): Promise<QueueStatsView[]> {
    return this.queueStatsSource ? this.queueStatsSource(tenantId) : [];
  }
}
