import { QuotaRepository } from '../repositories/quota.repository';
import { QuotaService } from '../services/quota.service';
import { QuotaPolicyService } from '../services/quota-policy.service';
import { SubscriptionService } from '../events/subscription.service';
import { Dispatcher } from '../jobs/dispatcher';
import { QueueRegistry } from '../jobs/queues';
import { ApiKeyService } from '../services/api-key.service';
import { AttemptTokenService } from '../services/attempt-tokens.service';
import { CallbackService } from '../services/callback.service';
import { DagService } from '../services/dag.service';
import { AssetExpectationService } from '../services/assets/asset-expectation.service';
import { AssetService } from '../services/assets/asset.service';
import { LineageService } from '../services/assets/lineage.service';
import { MaterializationService } from '../services/assets/materialization.service';
import { NodeStatusService } from '../services/assets/node-status.service';
import { OpenLineageService } from '../services/openlineage/openlineage.service';
import { OpenLineageRepository } from '../repositories/openlineage.repository';
import { OpenLineageEmitRepository } from '../repositories/openlineage-emit.repository';
import { OpenLineageEmitter } from '../services/openlineage/ol-emitter.service';
import { FleetService } from '../services/fleet.service';
import { DeploymentService } from '../services/deployment.service';
import { TaskStateService } from '../services/task-state.service';
import { API_KEY_REVOKED } from '../core/bus-channels';
import { TxHandlers } from '../core/tx-handlers';
import { DagsRepository } from '../repositories/dags.repository';
import { DagProgressRepository } from '../repositories/dag-progress.repository';
import { JobAttemptsRepository } from '../repositories/job-attempts.repository';
import { JobDispatchRepository } from '../repositories/job-dispatch.repository';
import { JobRowsRepository } from '../repositories/job-rows.repository';
import { JobsRepository } from '../repositories/jobs.repository';
import { WorkersRepository } from '../repositories/workers.repository';
import { AssetGraphRepository } from '../repositories/asset-graph.repository';
import { AttemptService } from '../services/engine/attempt.service';
import { CacheService } from '../services/engine/cache.service';
import { JobCacheRepository } from '../repositories/job-cache.repository';
import { MaterializationReplayRepository } from '../repositories/materialization-replay.repository';
import { DagTransitions } from '../services/engine/dag-transitions';
import { AfterCommit } from '../services/engine/effects';
import { JobCommands } from '../services/engine/job-commands.service';
import { registerRecordingFence } from '../services/engine/recording-fence';
import { registerExpectationHandlers } from '../services/assets/asset-expectation.service';
import { registerMaterializedEvents } from '../services/materialization-events';
import { registerAssetsIncompleteCheck } from '../services/assets/node-status.service';
import type { TxEvents } from '../services/tx-events';
import type { Infrastructure, Services } from '../services/process-services';

export type { Infrastructure, Services } from '../services/process-services';

export function createServices(infra: Infrastructure): Services {
  const { config, log, ds, redis, bus } = infra;
  // Repositories: stateless, every method takes the transaction first.
  const jobsRepo = new JobsRepository();
  const dagsRepo = new DagsRepository();
  const txHandlers = new TxHandlers<TxEvents>();
  // Services, by constructor arguments only.
  const fleet = new FleetService(ds, config, new WorkersRepository());
  const assets = new AssetService(ds);
  const materializations = new MaterializationService(ds, txHandlers, new MaterializationReplayRepository());
  const lineage = new LineageService(ds, config, assets, materializations, new AssetGraphRepository());
  const expectations = new AssetExpectationService();
  const nodeStatus = new NodeStatusService(ds);
  const dags = new DagService(ds, config, txHandlers, dagsRepo, new JobRowsRepository());
  const queues = new QueueRegistry(redis, config.queuePrefix);
  const quotas = new QuotaPolicyService(config.quotasFile, log);
  const dispatcher = new Dispatcher(ds, queues, new JobDispatchRepository(), quotas, config, log);
  const afterCommit = new AfterCommit(dispatcher, bus, log);
  const transitions = new DagTransitions(dagsRepo, new DagProgressRepository(), config, txHandlers);
  const attempts = new AttemptService(
    ds,
    config,
    jobsRepo,
    new JobAttemptsRepository(),
    transitions,
    afterCommit,
    () => !quotas.enabled,
  );
  const cache = new CacheService(
    ds,
    new JobCacheRepository(),
    new JobAttemptsRepository(),
    transitions,
    afterCommit,
    materializations,
    () => !quotas.enabled,
  );
  const attemptTokens = new AttemptTokenService(
    ds,
    new JobRowsRepository(),
    config.attemptTokenSecret,
    config.timings.leaseMs,
    attempts,
  );
  const apiKeys = new ApiKeyService(
    ds,
    {
      // The revocation stands without its message (Redis away): every api process checks its
      // open sockets' keys again within AUTH_CACHE_MS (server/socket-keys.ts).
      keyRevoked: (id) =>
        bus
          .send(API_KEY_REVOKED, id)
          .catch((err: unknown) =>
            log.warn(
              { err: String(err), apiKeyId: id },
              'key revocation not published: sockets close at their next key check',
            ),
          ),
    },
    config.authCacheMs,
    attemptTokens,
  );
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
    attemptTokens,
    fleet,
    deployment: new DeploymentService(bus, fleet, config),
    assets,
    materializations,
    lineage,
    expectations,
    nodeStatus,
    openLineage: new OpenLineageService(ds, new OpenLineageRepository(), materializations),
    dags,
    jobCommands,
    cache,
    attempts,
    afterCommit,
    txHandlers,
    queues,
    dispatcher,
    quotas,
    quota: new QuotaService(ds, new QuotaRepository(), quotas),
    callbacks,
    openLineageEmitter: config.openLineage
      ? new OpenLineageEmitter(ds, new OpenLineageEmitRepository(), config.openLineage, log)
      : null,
    taskState,
    events: new SubscriptionService(ds, bus, log, config.eventSubscriberBuffer),
  };
}
