import type { NonEmptyArray } from 'type-graphql';
import { ApiKeyResolver } from './api-key.resolver';
import { AssetResolver } from './asset.resolver';
import { AttemptResolver } from './attempt.resolver';
import { CacheResolver } from './cache.resolver';
import { DagResolver } from './dag.resolver';
import {
  AssetMaterializedEventResolver,
  DagEventResolver,
  EventResolver,
  JobEventResolver,
  SlaEventResolver,
} from './event.resolver';
import { FleetResolver } from './fleet.resolver';
import { JobResolver } from './job.resolver';
import { LineageGraphResolver, LineageResolver } from './lineage.resolver';
import { MaterializationResolver } from './materialization.resolver';
import { NodeStatusResolver } from './node-status.resolver';
import { OpenLineageResolver } from './openlineage.resolver';
import { QuotaResolver } from './quota.resolver';
import { TaskStateResolver } from './task-state.resolver';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const RESOLVERS: NonEmptyArray<Function> = [
  ApiKeyResolver,
  FleetResolver,
  QuotaResolver,
  DagResolver,
  CacheResolver,
  JobResolver,
  TaskStateResolver,
  AttemptResolver,
  AssetResolver,
  MaterializationResolver,
  LineageResolver,
  LineageGraphResolver,
  NodeStatusResolver,
  OpenLineageResolver,
  EventResolver,
  DagEventResolver,
  JobEventResolver,
  SlaEventResolver,
  AssetMaterializedEventResolver,
];
