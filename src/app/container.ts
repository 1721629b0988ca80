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
import { DagService } from '../services/dag.service';
import { AssetExpectationService } from '../services/asset-expectation.service';
import { AssetService } from '../services/asset.service';
import { LineageService } from '../services/lineage.service';
import { MaterializationService } from '../services/materialization.service';
import { NodeStatusService } from '../services/node-status.service';
import { FleetService } from '../services/fleet.service';
import { DeploymentService } from '../services/deployment.service';
import { TaskStateService } from '../services/task-state.service';
import { API_KEY_REVOKED } from '../core/bus-channels';
import { TxHandlers } from '../core/tx-handlers';
import { DagsRepository } from '../repositories/dags.repository';
import { JobAttemptsRepository } from '../repositories/job-attempts.repository';
import { JobDispatchRepository } from '../repositories/job-dispatch.repository';
import { JobRowsRepository } from '../repositories/job-rows.repository';
import { JobsRepository } from '../repositories/jobs.repository';
import { WorkersRepository } from '../repositories/workers.repository';
import { AttemptService } from '../services/engine/attempt.service';
import { DagTransitions } from '../services/engine/dag-transitions';
import { AfterCommit } from '../services/engine/effects';
import { JobCommands } from '../services/engine/job-commands.service';
import { registerRecordingFence } from '../services/engine/recording-fence';
import { registerExpectationHandlers } from '../services/asset-expectation.service';
import { registerMaterializedEvents } from '../services/materialization-events';
import { registerAssetsIncompleteCheck } from '../services/node-status.service';
import type { ServiceTxHandlers, TxEvents } from '../services/tx-events';

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

export function createServices(infra: Infrastructure): Services {
  const { config, log, ds, redis, bus } = infra;
  // Repositories: stateless, every method takes the transaction first.
  const jobsRepo = new JobsRepository();
  const dagsRepo = new DagsRepository();
  const txHandlers = new TxHandlers<TxEvents>();
  // Services, by constructor arguments only.
  const apiKeys = new ApiKeyService(ds, { keyRevoked: (id) => bus.send(API_KEY_REVOKED, id) }, config.authCacheMs);
  const fleet = new FleetService(ds, config, new WorkersRepository());
  const assets = new AssetService(ds);
  const materializations = new MaterializationService(ds, txHandlers);
  const lineage = new LineageService(ds, config, assets, materializations);
  const expectations = new AssetExpectationService();
  const nodeStatus = new NodeStatusService(ds);
  const dags = new DagService(ds, config, txHandlers, dagsRepo, new JobRowsRepository());
  const queues = new QueueRegistry(redis, config.queuePrefix);
  const dispatcher = new Dispatcher(ds, queues, new JobDispatchRepository(), config, log);
  const afterCommit = new AfterCommit(dispatcher, bus, log);
  const transitions = new DagTransitions(dagsRepo, config, txHandlers);
  const attempts = new AttemptService(ds, config, jobsRepo, new JobAttemptsRepository(), transitions, afterCommit);
  const jobCommands = new JobCommands(ds, dags, dagsRepo, jobsRepo, transitions, afterCommit, dispatcher, fleet, log);
  const callbacks = new CallbackService(ds, config, log, dagsRepo);
  const taskState = TaskStateService.create(
    config,
    ds,
    async (tenantId, dagId) => (await dags.get(tenantId, dagId))?.name ?? null,
  );
  // In-transaction handlers, each registered by the code that reacts.
  registerExpectationHandlers(txHandlers, expectations);
  registerRecordingFence(txHandlers, jobsRepo);
  registerMaterializedEvents(txHandlers);
  registerAssetsIncompleteCheck(txHandlers, nodeStatus, jobsRepo);
  return {
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
    jobCommands,
    attempts,
    afterCommit,
    txHandlers,
    queues,
    dispatcher,
    callbacks,
    taskState,
    events: new SubscriptionService(ds, bus, log, config.eventSubscriberBuffer),
  };
}
