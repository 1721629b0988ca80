import type { SubscriptionService } from '../events/subscription.service';
import type { ApiKeyService } from './api-key.service';
import type { AttemptTokenService } from './attempt-tokens.service';
import type { AssetService } from './assets/asset.service';
import type { LineageService } from './assets/lineage.service';
import type { MaterializationService } from './assets/materialization.service';
import type { NodeStatusService } from './assets/node-status.service';
import type { CacheService } from './engine/cache.service';
import type { JobCommands } from './engine/job-commands.service';
import type { DagService } from './dag.service';
import type { FleetService } from './fleet.service';
import type { QuotaService } from './quota.service';
import type { TaskStateService } from './task-state.service';
import type { OpenLineageService } from './openlineage/openlineage.service';

/**
 * The services a request reaches through its context (resolvers) and its DataLoaders
 * (loaders). The composition root's `Services` (app/container.ts) has all of them, so it
 * is passed as is; declaring them here keeps resolvers and loaders from importing app/.
 */
export interface RequestServices {
  apiKeys: ApiKeyService;
  /** Attempt tokens: minted by workers, authenticated through apiKeys, guards of their writes. */
  attemptTokens: AttemptTokenService;
  fleet: FleetService;
  /** The caller's fair-share policy and usage. */
  quota: QuotaService;
  dags: DagService;
  jobCommands: JobCommands;
  /** Memoised execution: look-ups at attempt start, hits, invalidation. */
  cache: CacheService;
  taskState: TaskStateService;
  assets: AssetService;
  materializations: MaterializationService;
  lineage: LineageService;
  nodeStatus: NodeStatusService;
  /** OpenLineage ingest and its reads. */
  openLineage: OpenLineageService;
  /** Live events for subscriptions: one Redis subscription per tenant, replay + live. */
  events: SubscriptionService;
}
