import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One upstream (asset, version, partition) that a materialization recorded as its input. */
@Entity({ name: 'materialization_lineage' })
export class MaterializationLineageEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @Column({ name: 'materialization_id', type: 'bigint' })
  materializationId!: string;

  @Column({ name: 'upstream_asset_key', type: 'text' })
  upstreamAssetKey!: string;

  @Column({ name: 'upstream_version', type: 'text' })
  upstreamVersion!: string;

  @Column({ name: 'upstream_partition_key', type: 'text', nullable: true })
  upstreamPartitionKey!: string | null;
}
