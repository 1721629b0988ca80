import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import type { SqlCounter } from '../db/sql-counter';
import type { RedisBus } from '../events/bus';
import { ApiKeyService } from '../services/api-key.service';
import { FleetService } from '../services/fleet.service';
import { TaskStateService } from '../services/task-state.service';

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
  /** Task state (state kernel): RunContexts for executor calls, setTaskState, taskState. */
  taskState: TaskStateService;
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
  const taskState = TaskStateService.create(infra.config, infra.ds);
  return { ...infra, apiKeys, fleet, taskState };
}
