import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import type { SqlCounter } from '../db/sql-counter';
import type { RedisBus } from '../events/bus';
import type { SubscriptionService } from '../events/subscription.service';
import type { Dispatcher } from '../jobs/dispatcher';
import type { QueueRegistry } from '../jobs/queues';
import type { ApiKeyService } from './api-key.service';
import type { AssetExpectationService } from './assets/asset-expectation.service';
import type { AssetService } from './assets/asset.service';
import type { LineageService } from './assets/lineage.service';
import type { MaterializationService } from './assets/materialization.service';
import type { NodeStatusService } from './assets/node-status.service';
import type { CallbackService } from './callback.service';
import type { DagService } from './dag.service';
import type { DeploymentService } from './deployment.service';
import type { AttemptService } from './engine/attempt.service';
import type { AfterCommit } from './engine/effects';
import type { JobCommands } from './engine/job-commands.service';
import type { FleetService } from './fleet.service';
import type { TaskStateService } from './task-state.service';
import type { ServiceTxHandlers } from './tx-events';

/*
 * The shape of the process's services, as app/container.ts builds them (by constructor
 * arguments). Declared here, below the roles that receive it (server, worker, scheduler),
 * so that none of them imports the composition root.
 */

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
  /** The DAG mutations: submit, cancel, retry (and the SLA sweep's hard misses, the purge). */
  jobCommands: JobCommands;
  /** The attempt lifecycle (group-committed starts and completions). */
  attempts: AttemptService;
  /** Applies the after-commit effects commands return. */
  afterCommit: AfterCommit;
  /** In-transaction reactions, by event type. */
  txHandlers: ServiceTxHandlers;
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
