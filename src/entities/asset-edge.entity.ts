import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The deduplicated asset-level graph: `from_key` (upstream) → `to_key` (downstream). */
@Entity({ name: 'asset_edges' })
export class AssetEdgeEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ name: 'from_key', type: 'text' })
  fromKey!: string;

  @PrimaryColumn({ name: 'to_key', type: 'text' })
  toKey!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
