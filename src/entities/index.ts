import { ApiKeyEntity } from './api-key.entity';
import { AssetEdgeEntity } from './asset-edge.entity';
import { AssetEntity } from './asset.entity';
import { AssetLatestEntity, AssetPartitionLatestEntity } from './asset-latest.entity';
import { MaterializationLineageEntity } from './materialization-lineage.entity';
import { MaterializationEntity } from './materialization.entity';
import { NodeAssetExpectationEntity } from './node-asset-expectation.entity';
import { TenantEntity } from './tenant.entity';
import { WorkerEntity } from './worker.entity';

/** Every entity the DataSource knows (persistence only; GraphQL types live in src/schema). */
export const ENTITIES = [
  TenantEntity,
  ApiKeyEntity,
  WorkerEntity,
  AssetEntity,
  MaterializationEntity,
  MaterializationLineageEntity,
  AssetEdgeEntity,
  AssetLatestEntity,
  AssetPartitionLatestEntity,
  NodeAssetExpectationEntity,
];
