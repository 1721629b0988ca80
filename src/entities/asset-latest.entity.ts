import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The latest materialization of each asset (across partitions); moved only forward. */
@Entity({ name: 'asset_latest' })
export class AssetLatestEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ name: 'asset_key', type: 'text' })
  assetKey!: string;

  @Column({ name: 'materialization_id', type: 'bigint' })
  materializationId!: string;
}

/** The latest materialization of each (asset, partition), the null partition included. */
@Entity({ name: 'asset_partition_latest' })
export class AssetPartitionLatestEntity {
  @PrimaryColumn({ name: 'materialization_id', type: 'bigint' })
  materializationId!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @Column({ name: 'asset_key', type: 'text' })
  assetKey!: string;

  @Column({ name: 'partition_key', type: 'text', nullable: true })
  partitionKey!: string | null;
}
