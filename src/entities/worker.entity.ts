import { Column, Entity, PrimaryColumn } from 'typeorm';

export interface GpuInfo {
  index: number;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number | null;
  utilizationPercent: number | null;
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

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt!: Date;
}
