import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One immutable materialization of an asset (a version, in a partition, by a DAG node). */
@Entity({ name: 'materializations' })
export class MaterializationEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @Column({ name: 'asset_key', type: 'text' })
  assetKey!: string;

  @Column({ type: 'text' })
  version!: string;

  @Column({ name: 'partition_key', type: 'text', nullable: true })
  partitionKey!: string | null;

  @Column({ name: 'job_id', type: 'text', nullable: true })
  jobId!: string | null;

  @Column({ name: 'try_number', type: 'int', nullable: true })
  tryNumber!: number | null;

  @Column({ name: 'dag_id', type: 'text', nullable: true })
  dagId!: string | null;

  @Column({ name: 'node_task_id', type: 'text', nullable: true })
  nodeTaskId!: string | null;

  @Column({ name: 'storage_event_id', type: 'text', nullable: true })
  storageEventId!: string | null;

  @Column({ type: 'text', nullable: true })
  kind!: string | null;

  @Column({ name: 'size_bytes', type: 'bigint', nullable: true })
  sizeBytes!: string | null;

  @Column({ type: 'text', nullable: true })
  checksum!: string | null;

  @Column({ type: 'text', nullable: true })
  uri!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  metadata!: Record<string, unknown> | null;

  @Column({ name: 'code_fingerprint', type: 'text', nullable: true })
  codeFingerprint!: string | null;

  @Column({ name: 'prompt_fingerprint', type: 'text', nullable: true })
  promptFingerprint!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
