import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import type { RedisClient } from '../lib/redis';
import type { SqlCounter } from '../db/sql-counter';
import type { RedisBus } from '../events/bus';
import type { Dispatcher } from '../jobs/dispatcher';
import type { QueueRegistry } from '../jobs/queues';
import type { AssetExpectationService } from './assets/asset-expectation.service';
import type { CallbackService } from './callback.service';
import type { DeploymentService } from './deployment.service';
import type { RequestServices } from './request-services';
import type { AttemptService } from './engine/attempt.service';
import type { AfterCommit } from './engine/effects';
import type { QuotaPolicyService } from './quota-policy.service';
import type { OpenLineageEmitter } from './openlineage/ol-emitter.service';
import type { ServiceTxHandlers } from './tx-events';

/*
 * The shape of the process's services, as app/container.ts builds them (by constructor
 * arguments). Declared here, below the roles that receive it (server, worker, scheduler),
 * so that none of them imports the composition root.
 */

/** The connections and settings every service is built from. */
export interface Infrastructure {
  config: AppConfig;
  log: Logger;
  ds: DataSource;
  /** The shared producer connection (one node or a cluster: src/lib/redis.ts). */
  redis: RedisClient;
  bus: RedisBus;
  sql: SqlCounter;
}

/** Long-lived services, built once per process and shared by every request. */
export interface Services extends Infrastructure, RequestServices {
  /** Executor status over Redis and the deployment status (the seed's health routes). */
  deployment: DeploymentService;
  /** The attempt lifecycle (group-committed starts and completions). */
  attempts: AttemptService;
  /** Applies the after-commit effects commands return. */
  afterCommit: AfterCommit;
  /** In-transaction reactions, by event type. */
  txHandlers: ServiceTxHandlers;
  queues: QueueRegistry;
  dispatcher: Dispatcher;
  /** The fair-share policy (QUOTAS_FILE), re-read on SIGHUP and every minute. */
  quotas: QuotaPolicyService;
  callbacks: CallbackService;
  /** OpenLineage out (OPENLINEAGE_URL); null when unset. The scheduler role runs it. */
  openLineageEmitter: OpenLineageEmitter | null;
  expectations: AssetExpectationService;
}
