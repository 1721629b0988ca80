import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import type { SqlCounter } from '../db/sql-counter';
import type { RedisBus } from '../events/bus';
import { ApiKeyService } from '../services/api-key.service';
import { AssetExpectationService } from '../services/asset-expectation.service';
import { AssetService } from '../services/asset.service';
import { LineageService } from '../services/lineage.service';
import { MaterializationService } from '../services/materialization.service';
import { NodeStatusService } from '../services/node-status.service';
import { FleetService } from '../services/fleet.service';

/** Long-lived services, built once per process and shared by every request. */
export interface Services {
  config: AppConfig;
  log: Logger;
  ds: DataSource;
  redis: Redis;
  bus: RedisBus;
  sql: SqlCounter;
  apiKeys: ApiKeyService;
  fleet: FleetService;
  assets: AssetService;
  materializations: MaterializationService;
  lineage: LineageService;
  expectations: AssetExpectationService;
  nodeStatus: NodeStatusService;
}

export interface Infrastructure {
  config: AppConfig;
  log: Logger;
  ds: DataSource;
  redis: Redis;
  bus: RedisBus;
  sql: SqlCounter;
}

export function createServices(infra: Infrastructure): Services {
  const apiKeys = new ApiKeyService(infra.ds, {
    keyRevoked: (id) => infra.bus.publish('api-key-revoked', id),
  });
  const fleet = new FleetService(infra.ds, infra.config);
  const assets = new AssetService(infra.ds);
  const materializations = new MaterializationService(infra.ds);
  const lineage = new LineageService(infra.ds, infra.config, assets, materializations);
  const expectations = new AssetExpectationService();
  const nodeStatus = new NodeStatusService(infra.ds);
  return { ...infra, apiKeys, fleet, assets, materializations, lineage, expectations, nodeStatus };
}
