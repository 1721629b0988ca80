import { SubscriptionService } from '../events/subscription.service';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import type { SqlCounter } from '../db/sql-counter';
import type { RedisBus } from '../events/bus';
import { Dispatcher } from '../jobs/dispatcher';
import { QueueRegistry } from '../jobs/queues';
import { ApiKeyService } from '../services/api-key.service';
import { CallbackService } from '../services/callback.service';
import { DagCommands } from '../services/dag-commands.service';
import { DagService } from '../services/dag.service';
import { AssetExpectationService } from '../services/assets/asset-expectation.service';
import { AssetService } from '../services/assets/asset.service';
import { LineageService } from '../services/assets/lineage.service';
import { MaterializationService } from '../services/assets/materialization.service';
import { NodeStatusService } from '../services/assets/node-status.service';
import { FleetService } from '../services/fleet.service';
import { DeploymentService } from '../services/deployment.service';
import { JobEngine } from '../services/job-engine';
import { TaskStateService } from '../services/task-state.service';
import { wireCapabilities } from './wiring';

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
  /** Executor status over Redis and the deployment status (the seed's health routes). */
  deployment: DeploymentService;
  dags: DagService;
  dagCommands: DagCommands;
  engine: JobEngine;
  queues: QueueRegistry;
  dispatcher: Dispatcher;
  callbacks: CallbackService;
  /** Task state (state kernel): RunContexts for executor calls, setTaskState, taskState. */
  taskState: TaskStateService;
  assets: AssetService;
  materializations: MaterializationService;
  lineage: LineageService;
  expectations: AssetExpectationService;
  nodeStatus: NodeStatusService;
  /** Live events for subscriptions: one Redis subscription per tenant, replay + live. */
  events: SubscriptionService;
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
  const { config, log, ds, redis, bus } = infra;
  const apiKeys = new ApiKeyService(ds, { keyRevoked: (id) => bus.publish('api-key-revoked', id) }, config.authCacheMs);
  const fleet = new FleetService(ds, config);
  const assets = new AssetService(ds);
  const materializations = new MaterializationService(ds);
  const lineage = new LineageService(ds, config, assets, materializations);
  const expectations = new AssetExpectationService();
  const nodeStatus = new NodeStatusService(ds);
  const dags = new DagService(ds, config);
  const engine = new JobEngine(ds, config, bus);
  const queues = new QueueRegistry(redis, config.queuePrefix);
  const dispatcher = new Dispatcher(ds, queues, config, log);
  const callbacks = new CallbackService(ds, config, log);
  const dagCommands = new DagCommands(dags, engine, dispatcher, fleet, log);
  const taskState = TaskStateService.create(config, ds);
  taskState.dagNameOf = async (tenantId, dagId) => (await dags.get(tenantId, dagId))?.name ?? null;
  const services: Services = {
    ...infra,
    apiKeys,
    fleet,
    deployment: new DeploymentService(bus, fleet, config),
    assets,
    materializations,
    lineage,
    expectations,
    nodeStatus,
    dags,
    dagCommands,
    engine,
    queues,
    dispatcher,
    callbacks,
    taskState,
    events: new SubscriptionService(ds, bus, log, config.eventSubscriberBuffer),
  };
  wireCapabilities(services);
  return services;
}
