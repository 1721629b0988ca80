import type { NonEmptyArray } from 'type-graphql';
import { ApiKeyResolver } from './api-key.resolver';
import { AssetResolver } from './asset.resolver';
import { FleetResolver } from './fleet.resolver';
import { LineageResolver } from './lineage.resolver';
import { MaterializationResolver } from './materialization.resolver';
import { NodeStatusResolver } from './node-status.resolver';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const RESOLVERS: NonEmptyArray<Function> = [
  ApiKeyResolver,
  FleetResolver,
  AssetResolver,
  MaterializationResolver,
  LineageResolver,
  NodeStatusResolver,
];
