import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import type { Heartbeat, QueueCounts, WorkerRow, WorkersRepository } from '../repositories/workers.repository';

/** A worker as the fleet shows it (the repository's row is already that view). */
export type WorkerView = WorkerRow;

/** An executor's queue counts as `queues` shows them (the repository's counts are that view). */
export type QueueStatsView = QueueCounts;

/** The shared worker fleet and per-executor queue counts (the caller's own jobs). */
export class FleetService {
  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly repo: WorkersRepository,
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
    return this.repo.seen(this.ds, this.config.timings.workerStaleMs, this.aliveMs);
  }

  /** A worker's heartbeat: its row inserted or refreshed. */
  async heartbeat(w: Heartbeat): Promise<void> {
    await this.repo.heartbeat(this.ds, w);
  }

  /** A stopping worker leaves the fleet. */
  async leave(workerId: string): Promise<void> {
    await this.repo.remove(this.ds, workerId);
  }

  /** Workers silent for ten staleness windows are forgotten. */
  async forgetSilent(): Promise<void> {
    await this.repo.forgetSilent(this.ds, this.config.timings.workerStaleMs * 10);
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
    return this.repo.queueCounts(this.ds, tenantId, this.aliveMs);
  }
}
