import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { GpuInfo, RemoteExecutorStatus } from '../core/bus-channels';

export type { GpuInfo } from '../core/bus-channels';

/** A worker's own numbers for one executor it hosts. */
export interface ExecutorSlots {
  concurrency: number;
  activeJobs: number;
  /** A remote executor: its last status check (its queues pause here while it is unhealthy). */
  remote?: RemoteExecutorStatus;
}

/** The shared worker fleet: one row per worker process, kept fresh by its heartbeat. */
@Entity({ name: 'workers' })
export class WorkerEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  hostname!: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  executors!: string[];

  @Column({ type: 'jsonb', default: () => "'[]'" })
  gpus!: GpuInfo[];

  @Column({ type: 'int', default: 0 })
  concurrency!: number;

  @Column({ name: 'active_jobs', type: 'int', default: 0 })
  activeJobs!: number;

  @Column({ type: 'boolean', default: true })
  healthy!: boolean;

  /** Per executor it hosts: its concurrency and running jobs there. */
  @Column({ name: 'executor_slots', type: 'jsonb', default: () => "'{}'" })
  executorSlots!: Record<string, ExecutorSlots>;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt!: Date;
}
