import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An asset a DAG node is expected to produce (declared when the DAG is submitted). */
@Entity({ name: 'node_asset_expectations' })
export class NodeAssetExpectationEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ name: 'dag_id', type: 'text' })
  dagId!: string;

  @PrimaryColumn({ name: 'node_task_id', type: 'text' })
  nodeTaskId!: string;

  @PrimaryColumn({ name: 'asset_key', type: 'text' })
  assetKey!: string;

  @Column({ type: 'text', nullable: true })
  kind!: string | null;

  @Column({ name: 'is_primary', type: 'boolean' })
  isPrimary!: boolean;

  @Column({ name: 'is_required', type: 'boolean' })
  isRequired!: boolean;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
