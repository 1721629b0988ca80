/* eslint-disable */
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** A 64-bit integer (sizes in bytes), serialized as a string of digits; inputs accept a string or an integer. */
  BigInt: { input: string; output: string; }
  /** A date-time string at UTC, such as 2007-12-03T10:15:30Z, compliant with the `date-time` format outlined in section 5.6 of the RFC 3339 profile of the ISO 8601 standard for representation of dates and times using the Gregorian calendar. */
  DateTime: { input: string; output: string; }
  /** The `JSON` scalar type represents JSON values as specified by [ECMA-404](http://www.ecma-international.org/publications/files/ECMA-ST/ECMA-404.pdf). */
  JSON: { input: unknown; output: unknown; }
};

export type ApiKey = {
  __typename?: 'ApiKey';
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  lastUsedAt?: Maybe<Scalars['DateTime']['output']>;
  name: Scalars['String']['output'];
  revokedAt?: Maybe<Scalars['DateTime']['output']>;
  role: Role;
};

export type Asset = {
  __typename?: 'Asset';
  createdAt: Scalars['DateTime']['output'];
  description?: Maybe<Scalars['String']['output']>;
  /** Assets directly derived from this one. */
  downstream: Array<Asset>;
  key: Scalars['String']['output'];
  kind?: Maybe<Scalars['String']['output']>;
  latest?: Maybe<Materialization>;
  materializations: MaterializationConnection;
  namespace: Scalars['String']['output'];
  /** The OpenLineage dataset this asset stands for, when it came from OpenLineage. */
  openLineage?: Maybe<OpenLineageDataset>;
  partitions: PartitionConnection;
  tags?: Maybe<Scalars['JSON']['output']>;
  updatedAt: Scalars['DateTime']['output'];
  /** Assets this one was directly derived from, over all recorded lineage. */
  upstream: Array<Asset>;
};


export type AssetLatestArgs = {
  partitionKey?: InputMaybe<Scalars['String']['input']>;
};


export type AssetMaterializationsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  dagId?: InputMaybe<Scalars['ID']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  partitionKey?: InputMaybe<Scalars['String']['input']>;
};


export type AssetPartitionsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type AssetConnection = {
  __typename?: 'AssetConnection';
  edges: Array<AssetEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type AssetEdge = {
  __typename?: 'AssetEdge';
  cursor: Scalars['String']['output'];
  node: Asset;
};

export type AssetExpectationInput = {
  isPrimary?: InputMaybe<Scalars['Boolean']['input']>;
  isRequired?: InputMaybe<Scalars['Boolean']['input']>;
  key: Scalars['String']['input'];
  kind?: InputMaybe<Scalars['String']['input']>;
};

export type AssetMaterializedEvent = {
  __typename?: 'AssetMaterializedEvent';
  assetKey: Scalars['String']['output'];
  at: Scalars['DateTime']['output'];
  /** Position in the tenant's event log: pass it as `after` to resume from here after a reconnect. */
  cursor: Scalars['String']['output'];
  materialization: Materialization;
};

/** Per-asset activity over a window: the seed's dashboard and health-summary queries. */
export type AssetSummary = {
  __typename?: 'AssetSummary';
  assetKey: Scalars['String']['output'];
  dagCount: Scalars['Int']['output'];
  kind?: Maybe<Scalars['String']['output']>;
  lastMaterializedAt?: Maybe<Scalars['DateTime']['output']>;
  materializationCount: Scalars['Int']['output'];
};

/** What an attempt token's holder (a remote executor) is running. */
export type AttemptContext = {
  __typename?: 'AttemptContext';
  /** True once the job was cancelled: stop, nothing more will be accepted. */
  cancelled: Scalars['Boolean']['output'];
  dagId: Scalars['ID']['output'];
  dagName: Scalars['String']['output'];
  deadline?: Maybe<Scalars['DateTime']['output']>;
  endpoint: Scalars['String']['output'];
  jobId: Scalars['ID']['output'];
  partitionKey?: Maybe<Scalars['String']['output']>;
  taskId: Scalars['String']['output'];
  tryNumber: Scalars['Int']['output'];
  /** The latest materializations its upstream nodes recorded in this DAG. */
  upstream: Array<UpstreamAsset>;
};

export type AttemptOutcome =
  /** Completed from an earlier attempt with the same cache key, without calling the executor. */
  | 'CACHED'
  | 'CANCELLED'
  | 'EXPIRED'
  | 'FAILED'
  /** A worker stopping gracefully gave it back: the same try ran again; not a failed attempt. */
  | 'HANDED_BACK'
  /** The worker's lease ran out (a crash): the same try ran again; not a failed attempt. */
  | 'LOST'
  | 'RUNNING'
  | 'SUCCEEDED';

export type CachePolicyInput = {
  enabled?: InputMaybe<Scalars['Boolean']['input']>;
  /** A key of the caller's choosing, instead of the computed one. */
  key?: InputMaybe<Scalars['String']['input']>;
  /** How old a cached result may be; 7 days when absent. */
  ttlSeconds?: InputMaybe<Scalars['Int']['input']>;
};

export type CachedFrom = {
  __typename?: 'CachedFrom';
  dagId: Scalars['ID']['output'];
  taskId: Scalars['String']['output'];
  tryNumber: Scalars['Int']['output'];
};

export type CallbackStatus = {
  __typename?: 'CallbackStatus';
  attempts: Scalars['Int']['output'];
  deliveredAt?: Maybe<Scalars['DateTime']['output']>;
  lastError?: Maybe<Scalars['String']['output']>;
  /** PENDING, DELIVERED or FAILED (retries exhausted). */
  state: Scalars['String']['output'];
  url: Scalars['String']['output'];
};

export type ComputeAssetVersionInput = {
  codeFingerprint?: InputMaybe<Scalars['String']['input']>;
  /** Base64 of the payload bytes. */
  payloadBase64: Scalars['String']['input'];
  promptFingerprint?: InputMaybe<Scalars['String']['input']>;
  scheme?: InputMaybe<VersionScheme>;
  upstreamVersions?: InputMaybe<Array<Scalars['String']['input']>>;
};

export type CreateApiKeyInput = {
  name: Scalars['String']['input'];
  role: Role;
};

export type CreatedApiKey = {
  __typename?: 'CreatedApiKey';
  apiKey: ApiKey;
  key: Scalars['String']['output'];
};

export type Dag = {
  __typename?: 'Dag';
  assetStatus: Array<NodeAssetStatus>;
  callback?: Maybe<CallbackStatus>;
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  createdAt: Scalars['DateTime']['output'];
  hardSla?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  /** Counts per (level, executor): how a big DAG is drawn collapsed. */
  jobGroups: Array<JobGroup>;
  /** The jobs a page at a time, for big DAGs. */
  jobPage: JobConnection;
  jobs: Array<Job>;
  metadata?: Maybe<Scalars['JSON']['output']>;
  name: Scalars['String']['output'];
  progress: DagProgress;
  /** Seconds of executor time that cache hits saved (the sources' run times). */
  savedSeconds: Scalars['Float']['output'];
  slaStatus: SlaStatus;
  softSla?: Maybe<Scalars['DateTime']['output']>;
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  state: DagState;
  /** The API key (its name) that submitted it. */
  submittedBy?: Maybe<Scalars['String']['output']>;
};


export type DagJobPageArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  executor?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  level?: InputMaybe<Scalars['Int']['input']>;
  state?: InputMaybe<JobState>;
};


export type DagJobsArgs = {
  state?: InputMaybe<JobState>;
};

export type DagConnection = {
  __typename?: 'DagConnection';
  edges: Array<DagEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type DagEdge = {
  __typename?: 'DagEdge';
  cursor: Scalars['String']['output'];
  node: Dag;
};

export type DagEvent = {
  __typename?: 'DagEvent';
  at: Scalars['DateTime']['output'];
  /** Position in the tenant's event log: pass it as `after` to resume from here after a reconnect. */
  cursor: Scalars['String']['output'];
  dag?: Maybe<Dag>;
  dagId: Scalars['ID']['output'];
  previousState?: Maybe<DagState>;
  progress: DagProgress;
  state: DagState;
};

/** Counters as they stood when the DAG (or the event) was read. */
export type DagProgress = {
  __typename?: 'DagProgress';
  active: Scalars['Int']['output'];
  /** Completed from the cache, without an executor call (counted in completed too). */
  cached: Scalars['Int']['output'];
  completed: Scalars['Int']['output'];
  failed: Scalars['Int']['output'];
  pending: Scalars['Int']['output'];
  /** Jobs in terminal states over all jobs, 0 to 100. */
  percent: Scalars['Float']['output'];
  skipped: Scalars['Int']['output'];
  total: Scalars['Int']['output'];
};

export type DagState =
  | 'ACTIVE'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'CREATED'
  | 'FAILED';

export type Gpu = {
  __typename?: 'Gpu';
  index: Scalars['Int']['output'];
  memoryTotalMiB: Scalars['Int']['output'];
  memoryUsedMiB?: Maybe<Scalars['Int']['output']>;
  name: Scalars['String']['output'];
  utilizationPercent?: Maybe<Scalars['Int']['output']>;
};

export type ImpactReport = {
  __typename?: 'ImpactReport';
  /** The latest materializations of each transitive downstream (asset, partition) that are not stale yet and would become stale with a new version of this asset. */
  affectedMaterializations: Scalars['Int']['output'];
  assetKey: Scalars['String']['output'];
  /** Every transitive downstream asset. */
  downstreamAssets: Array<Scalars['String']['output']>;
  downstreamCount: Scalars['Int']['output'];
  recentDagCount: Scalars['Int']['output'];
  /** Distinct jobs and DAGs among the asset's materializations of the last 24 hours. */
  recentJobCount: Scalars['Int']['output'];
};

export type IncompleteAssetsEvent = {
  __typename?: 'IncompleteAssetsEvent';
  at: Scalars['DateTime']['output'];
  /** Position in the tenant's event log: pass it as `after` to resume from here after a reconnect. */
  cursor: Scalars['String']['output'];
  dagId: Scalars['ID']['output'];
  incompleteNodes: Array<NodeAssetStatus>;
};

export type Job = {
  __typename?: 'Job';
  assetStatus: NodeAssetStatus;
  /** Every attempt, oldest first. */
  attempts: Array<JobAttempt>;
  /** The cache key of its latest attempt, when caching is on. */
  cacheKey?: Maybe<Scalars['String']['output']>;
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  concurrencyKey?: Maybe<Scalars['String']['output']>;
  concurrencyLimit?: Maybe<Scalars['Int']['output']>;
  createdAt: Scalars['DateTime']['output'];
  dag: Dag;
  dagId: Scalars['ID']['output'];
  data?: Maybe<Scalars['JSON']['output']>;
  dependencies: Array<Job>;
  dependents: Array<Job>;
  error?: Maybe<Scalars['String']['output']>;
  executor: Scalars['String']['output'];
  expireInSeconds?: Maybe<Scalars['Int']['output']>;
  hardSla?: Maybe<Scalars['DateTime']['output']>;
  /** Globally unique (opaque). */
  id: Scalars['ID']['output'];
  jobLevel: Scalars['Int']['output'];
  keepUntil?: Maybe<Scalars['DateTime']['output']>;
  materializations: Array<Materialization>;
  name: Scalars['String']['output'];
  output?: Maybe<Scalars['JSON']['output']>;
  partitionKey?: Maybe<Scalars['String']['output']>;
  priority: Scalars['Int']['output'];
  progressMessage?: Maybe<Scalars['String']['output']>;
  /** What the executor last reported of the running attempt, 0 to 100. */
  progressPercent?: Maybe<Scalars['Float']['output']>;
  requiresGpu: Scalars['Boolean']['output'];
  retryBackoff: Scalars['Boolean']['output'];
  retryDelay: Scalars['Int']['output'];
  retryLimit: Scalars['Int']['output'];
  softSla?: Maybe<Scalars['DateTime']['output']>;
  startAfter?: Maybe<Scalars['DateTime']['output']>;
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  state: JobState;
  /** The id given at submission, unique within its DAG: the node's task id in asset tracking and in the task state store. */
  taskId: Scalars['String']['output'];
  /** The key-value state the task stored in its latest try. */
  taskState: Array<TaskStateEntry>;
  tryNumber: Scalars['Int']['output'];
};

export type JobAttempt = {
  __typename?: 'JobAttempt';
  /** For a CACHED attempt: the attempt whose result it took. */
  cachedFrom?: Maybe<CachedFrom>;
  error?: Maybe<Scalars['String']['output']>;
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  outcome: AttemptOutcome;
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  tryNumber: Scalars['Int']['output'];
  workerId?: Maybe<Scalars['String']['output']>;
};

export type JobConnection = {
  __typename?: 'JobConnection';
  edges: Array<JobEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type JobEdge = {
  __typename?: 'JobEdge';
  cursor: Scalars['String']['output'];
  node: Job;
};

export type JobEvent = {
  __typename?: 'JobEvent';
  at: Scalars['DateTime']['output'];
  /** Position in the tenant's event log: pass it as `after` to resume from here after a reconnect. */
  cursor: Scalars['String']['output'];
  dagId: Scalars['ID']['output'];
  error?: Maybe<Scalars['String']['output']>;
  job?: Maybe<Job>;
  name: Scalars['String']['output'];
  previousState?: Maybe<JobState>;
  progressPercent?: Maybe<Scalars['Float']['output']>;
  state: JobState;
  taskId: Scalars['String']['output'];
  tryNumber: Scalars['Int']['output'];
};

export type JobGroup = {
  __typename?: 'JobGroup';
  executor: Scalars['String']['output'];
  level: Scalars['Int']['output'];
  progress: DagProgress;
};

export type JobInput = {
  assets?: InputMaybe<Array<AssetExpectationInput>>;
  /** Overrides the DAG's cache policy for this job. */
  cache?: InputMaybe<CachePolicyInput>;
  /** At most concurrencyLimit jobs of the tenant with this key are ACTIVE at once. */
  concurrencyKey?: InputMaybe<Scalars['String']['input']>;
  concurrencyLimit?: InputMaybe<Scalars['Int']['input']>;
  data?: InputMaybe<Scalars['JSON']['input']>;
  dependencies?: InputMaybe<Array<Scalars['ID']['input']>>;
  executor?: InputMaybe<Scalars['String']['input']>;
  expireInSeconds?: InputMaybe<Scalars['Int']['input']>;
  hardSla?: InputMaybe<Scalars['DateTime']['input']>;
  /** Unique within the DAG (e.g. "ocr_extractor"); dependencies name these ids. */
  id: Scalars['ID']['input'];
  jobLevel?: InputMaybe<Scalars['Int']['input']>;
  keepUntil?: InputMaybe<Scalars['DateTime']['input']>;
  name: Scalars['String']['input'];
  partitionKey?: InputMaybe<Scalars['String']['input']>;
  priority?: InputMaybe<Scalars['Int']['input']>;
  requiresGpu?: InputMaybe<Scalars['Boolean']['input']>;
  retryBackoff?: InputMaybe<Scalars['Boolean']['input']>;
  retryDelay?: InputMaybe<Scalars['Int']['input']>;
  retryLimit?: InputMaybe<Scalars['Int']['input']>;
  softSla?: InputMaybe<Scalars['DateTime']['input']>;
  startAfter?: InputMaybe<Scalars['DateTime']['input']>;
};

export type JobState =
  | 'ACTIVE'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'CREATED'
  | 'EXPIRED'
  | 'FAILED'
  | 'RETRY'
  | 'SKIPPED';

export type LineageDirection =
  | 'BOTH'
  | 'DOWNSTREAM'
  | 'UPSTREAM';

export type LineageEdge = {
  __typename?: 'LineageEdge';
  fromAssetKey: Scalars['String']['output'];
  toAssetKey: Scalars['String']['output'];
};

export type LineageGraph = {
  __typename?: 'LineageGraph';
  assetKey: Scalars['String']['output'];
  depth: Scalars['Int']['output'];
  direction: LineageDirection;
  /** Keys of every asset downstream of the root within depth, whatever the direction. */
  downstream: Array<Scalars['String']['output']>;
  edges: Array<LineageEdge>;
  nodes: Array<LineageNode>;
  /** Nodes are paged in order of |distance|, then key; each page's edges join its nodes to each other and to nodes of earlier pages. */
  pageInfo: PageInfo;
  /** Every node within depth (the root included), whatever the page. */
  totalNodes: Scalars['Int']['output'];
  /** True when one more hop would find an asset not yet seen, or the node cap (10,000 by default) stopped the walk. */
  truncated: Scalars['Boolean']['output'];
  /** Direct upstream inputs of the root (with the versions its latest materialization used), whatever the direction. */
  upstream: Array<LineageRef>;
};

export type LineageNode = {
  __typename?: 'LineageNode';
  asset?: Maybe<Asset>;
  assetKey: Scalars['String']['output'];
  /** Hops from the root: negative upstream, positive downstream, 0 the root. */
  distance: Scalars['Int']['output'];
};

export type LineageRef = {
  __typename?: 'LineageRef';
  assetKey: Scalars['String']['output'];
  /** The materialization that produced that version, when it was recorded here. */
  materialization?: Maybe<Materialization>;
  partitionKey?: Maybe<Scalars['String']['output']>;
  version: Scalars['String']['output'];
};

export type Materialization = {
  __typename?: 'Materialization';
  asset: Asset;
  assetKey: Scalars['String']['output'];
  checksum?: Maybe<Scalars['String']['output']>;
  codeFingerprint?: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  dagId?: Maybe<Scalars['ID']['output']>;
  /** Materializations that recorded this one as an input. */
  downstream: MaterializationConnection;
  id: Scalars['ID']['output'];
  /** True exactly when staleReasons is not empty. */
  isStale: Scalars['Boolean']['output'];
  jobId?: Maybe<Scalars['String']['output']>;
  kind?: Maybe<Scalars['String']['output']>;
  metadata?: Maybe<Scalars['JSON']['output']>;
  nodeTaskId?: Maybe<Scalars['String']['output']>;
  partitionKey?: Maybe<Scalars['String']['output']>;
  promptFingerprint?: Maybe<Scalars['String']['output']>;
  sizeBytes?: Maybe<Scalars['BigInt']['output']>;
  staleReasons: Array<StaleReason>;
  storageEventId?: Maybe<Scalars['String']['output']>;
  /** The upstream asset versions recorded with this materialization. */
  upstream: Array<LineageRef>;
  uri?: Maybe<Scalars['String']['output']>;
  version: Scalars['String']['output'];
};


export type MaterializationDownstreamArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type MaterializationConnection = {
  __typename?: 'MaterializationConnection';
  edges: Array<MaterializationEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type MaterializationEdge = {
  __typename?: 'MaterializationEdge';
  cursor: Scalars['String']['output'];
  node: Materialization;
};

export type MaterializationInput = {
  assetKey: Scalars['String']['input'];
  checksum?: InputMaybe<Scalars['String']['input']>;
  codeFingerprint?: InputMaybe<Scalars['String']['input']>;
  kind?: InputMaybe<Scalars['String']['input']>;
  metadata?: InputMaybe<Scalars['JSON']['input']>;
  partitionKey?: InputMaybe<Scalars['String']['input']>;
  promptFingerprint?: InputMaybe<Scalars['String']['input']>;
  sizeBytes?: InputMaybe<Scalars['BigInt']['input']>;
  uri?: InputMaybe<Scalars['String']['input']>;
  version: Scalars['String']['input'];
};

export type Mutation = {
  __typename?: 'Mutation';
  cancelDag: Dag;
  /** Cancel one job: it ends CANCELLED and its descendants SKIPPED; the rest of the DAG goes on. */
  cancelJob: Job;
  /** Admin role. The key itself is returned once, here. */
  createApiKey: CreatedApiKey;
  /** Submitter role and up: forget the tenant's cache keys of an executor (of one code version, or all); returns how many. */
  invalidateCache: Scalars['Int']['output'];
  recordMaterializations: RecordMaterializationsPayload;
  /** Create or update an asset's registry entry (kind, description, tags) before or after it is materialized. */
  registerAsset: Asset;
  /** Attempt tokens only: progress of the running attempt, 0 to 100. */
  reportProgress: Scalars['Boolean']['output'];
  /** Run a FAILED, EXPIRED or CANCELLED job again (its skipped dependents too) and reopen its DAG. */
  retryJob: Job;
  /** Admin role. Its open subscriptions are closed at once. */
  revokeApiKey: ApiKey;
  /** For executors that run outside this project's workers (e.g. Python Marie executors): the same store RunContext writes. */
  setTaskState: TaskStateEntry;
  submitDag: Dag;
};


export type MutationCancelDagArgs = {
  id: Scalars['ID']['input'];
};


export type MutationCancelJobArgs = {
  dagId: Scalars['ID']['input'];
  taskId: Scalars['String']['input'];
};


export type MutationCreateApiKeyArgs = {
  input: CreateApiKeyInput;
};


export type MutationInvalidateCacheArgs = {
  codeVersion?: InputMaybe<Scalars['String']['input']>;
  executor: Scalars['String']['input'];
};


export type MutationRecordMaterializationsArgs = {
  input: RecordMaterializationsInput;
};


export type MutationRegisterAssetArgs = {
  input: RegisterAssetInput;
};


export type MutationReportProgressArgs = {
  message?: InputMaybe<Scalars['String']['input']>;
  percent: Scalars['Float']['input'];
};


export type MutationRetryJobArgs = {
  dagId: Scalars['ID']['input'];
  taskId: Scalars['String']['input'];
};


export type MutationRevokeApiKeyArgs = {
  id: Scalars['ID']['input'];
};


export type MutationSetTaskStateArgs = {
  input: SetTaskStateInput;
};


export type MutationSubmitDagArgs = {
  input: SubmitDagInput;
};

export type NodeAssetStatus = {
  __typename?: 'NodeAssetStatus';
  completionPercentage: Scalars['Float']['output'];
  dagId: Scalars['ID']['output'];
  expectedAssets: Array<Scalars['String']['output']>;
  isComplete: Scalars['Boolean']['output'];
  materializedAssets: Array<Scalars['String']['output']>;
  missingRequiredAssets: Array<Scalars['String']['output']>;
  nodeTaskId: Scalars['String']['output'];
  requiredAssets: Array<Scalars['String']['output']>;
};

export type OpenLineageDataset = {
  __typename?: 'OpenLineageDataset';
  name: Scalars['String']['output'];
  namespace: Scalars['String']['output'];
};

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor?: Maybe<Scalars['String']['output']>;
};

export type Partition = {
  __typename?: 'Partition';
  key: Scalars['String']['output'];
  latest: Materialization;
};

export type PartitionConnection = {
  __typename?: 'PartitionConnection';
  edges: Array<PartitionEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type PartitionEdge = {
  __typename?: 'PartitionEdge';
  cursor: Scalars['String']['output'];
  node: Partition;
};

export type Query = {
  __typename?: 'Query';
  /** Admin role. */
  apiKeys: Array<ApiKey>;
  asset?: Maybe<Asset>;
  /** Materialization counts by asset over the last `sinceHours`, most active first. */
  assetSummary: Array<AssetSummary>;
  assets: AssetConnection;
  /** Attempt tokens only: the attempt the token stands for. */
  attempt: AttemptContext;
  /** Pure function, also exported by the executor SDK: the same inputs give the same version everywhere. */
  computeAssetVersion: Scalars['String']['output'];
  dag?: Maybe<Dag>;
  dagAssetStatus: Array<NodeAssetStatus>;
  dags: DagConnection;
  /** The end of the caller's event log now. Read it in the same request as the state you show, then subscribe with after: it, and no event is missed. */
  eventCursor: Scalars['String']['output'];
  /** NOT_FOUND for an unknown asset. */
  impact: ImpactReport;
  job?: Maybe<Job>;
  /** NOT_FOUND for an unknown asset; depth 1 to 50, else BAD_USER_INPUT. */
  lineage: LineageGraph;
  materialization?: Maybe<Materialization>;
  /** The cache look-up: a materialization of exactly this version, if one was recorded. */
  materializationByVersion?: Maybe<Materialization>;
  /** Who is calling: what a dashboard may offer this key. */
  me: Viewer;
  nodeStatus?: Maybe<NodeAssetStatus>;
  /** The raw OpenLineage events stored for one run, oldest first. */
  openLineageEvents: Array<Scalars['JSON']['output']>;
  /** Counts of the caller's own jobs per executor. */
  queues: Array<QueueStats>;
  /** The caller's tenant's fair-share policy and usage. */
  quota: TenantQuota;
  taskState: Array<TaskStateEntry>;
  /** The shared worker fleet. */
  workers: Array<Worker>;
};


export type QueryAssetArgs = {
  key: Scalars['String']['input'];
};


export type QueryAssetSummaryArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
  sinceHours?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryAssetsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  kind?: InputMaybe<Scalars['String']['input']>;
  namespace?: InputMaybe<Scalars['String']['input']>;
  search?: InputMaybe<Scalars['String']['input']>;
};


export type QueryComputeAssetVersionArgs = {
  input: ComputeAssetVersionInput;
};


export type QueryDagArgs = {
  id: Scalars['ID']['input'];
};


export type QueryDagAssetStatusArgs = {
  dagId: Scalars['ID']['input'];
};


export type QueryDagsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  createdAfter?: InputMaybe<Scalars['DateTime']['input']>;
  createdBefore?: InputMaybe<Scalars['DateTime']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  name?: InputMaybe<Scalars['String']['input']>;
  state?: InputMaybe<DagState>;
};


export type QueryImpactArgs = {
  assetKey: Scalars['String']['input'];
};


export type QueryJobArgs = {
  dagId: Scalars['ID']['input'];
  taskId: Scalars['String']['input'];
};


export type QueryLineageArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  assetKey: Scalars['String']['input'];
  depth?: InputMaybe<Scalars['Int']['input']>;
  direction?: InputMaybe<LineageDirection>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryMaterializationArgs = {
  id: Scalars['ID']['input'];
};


export type QueryMaterializationByVersionArgs = {
  assetKey: Scalars['String']['input'];
  partitionKey?: InputMaybe<Scalars['String']['input']>;
  version: Scalars['String']['input'];
};


export type QueryNodeStatusArgs = {
  dagId: Scalars['ID']['input'];
  nodeTaskId: Scalars['String']['input'];
};


export type QueryOpenLineageEventsArgs = {
  runId: Scalars['ID']['input'];
};


export type QueryTaskStateArgs = {
  dagId: Scalars['ID']['input'];
  taskId: Scalars['String']['input'];
  tryNumber?: InputMaybe<Scalars['Int']['input']>;
};

/** From Postgres, the caller's jobs: waiting = ready CREATED; delayed = RETRY, and CREATED with a future startAfter; failed = FAILED + EXPIRED. */
export type QueueStats = {
  __typename?: 'QueueStats';
  active: Scalars['Int']['output'];
  completed: Scalars['Int']['output'];
  delayed: Scalars['Int']['output'];
  executor: Scalars['String']['output'];
  failed: Scalars['Int']['output'];
  /** Ready but held back by a quota, a concurrency key or a rate limit. */
  throttled: Scalars['Int']['output'];
  waiting: Scalars['Int']['output'];
  /** Live, healthy workers that host this executor now: 0 means its jobs cannot run. */
  workers: Scalars['Int']['output'];
};

export type RateLimit = {
  __typename?: 'RateLimit';
  executor: Scalars['String']['output'];
  jobs: Scalars['Int']['output'];
  perSeconds: Scalars['Int']['output'];
};

export type RecordMaterializationsInput = {
  assets: Array<MaterializationInput>;
  dagId?: InputMaybe<Scalars['ID']['input']>;
  /** For this project's workers: the Job.id. Outside systems may send any reference. */
  jobId?: InputMaybe<Scalars['String']['input']>;
  nodeTaskId?: InputMaybe<Scalars['String']['input']>;
  partitionKey?: InputMaybe<Scalars['String']['input']>;
  storageEventId?: InputMaybe<Scalars['String']['input']>;
  /** With a dagId and nodeTaskId of one of this control plane's DAGs, the current ACTIVE attempt must be named, by tryNumber or jobId (else CONFLICT). */
  tryNumber?: InputMaybe<Scalars['Int']['input']>;
  upstreamAssets?: InputMaybe<Array<UpstreamAssetInput>>;
};

export type RecordMaterializationsPayload = {
  __typename?: 'RecordMaterializationsPayload';
  /** How many of them were already recorded (an idempotent replay) and not written again. */
  alreadyRecorded: Scalars['Int']['output'];
  materializations: Array<Materialization>;
};

export type RegisterAssetInput = {
  description?: InputMaybe<Scalars['String']['input']>;
  key: Scalars['String']['input'];
  kind?: InputMaybe<Scalars['String']['input']>;
  tags?: InputMaybe<Scalars['JSON']['input']>;
};

export type Role =
  | 'ADMIN'
  | 'EXECUTOR'
  | 'READER'
  | 'SUBMITTER';

/** The job must be ACTIVE at that tryNumber, else CONFLICT. */
export type SetTaskStateInput = {
  dagId: Scalars['ID']['input'];
  key: Scalars['String']['input'];
  metadata?: InputMaybe<Scalars['JSON']['input']>;
  taskId: Scalars['String']['input'];
  tryNumber: Scalars['Int']['input'];
  value: Scalars['JSON']['input'];
};

export type SlaEvent = {
  __typename?: 'SlaEvent';
  at: Scalars['DateTime']['output'];
  /** Position in the tenant's event log: pass it as `after` to resume from here after a reconnect. */
  cursor: Scalars['String']['output'];
  dag?: Maybe<Dag>;
  dagId: Scalars['ID']['output'];
  deadline: Scalars['DateTime']['output'];
  job?: Maybe<Job>;
  kind: SlaStatus;
  /** The job whose own SLA was missed; null for the DAG's SLA. */
  taskId?: Maybe<Scalars['String']['output']>;
};

export type SlaStatus =
  | 'HARD_MISSED'
  | 'MET'
  | 'NONE'
  | 'ON_TRACK'
  | 'SOFT_MISSED';

export type StaleCause =
  /** A newer materialization of this asset was made with another code or prompt fingerprint. */
  | 'CODE_CHANGED'
  /** An input's latest version is not the one this materialization used. */
  | 'UPSTREAM_CHANGED'
  /** An input is itself stale (the cause is further upstream). */
  | 'UPSTREAM_STALE';

export type StaleReason = {
  __typename?: 'StaleReason';
  /** The asset the cause is about: the input that moved on, or this asset for CODE_CHANGED. */
  assetKey: Scalars['String']['output'];
  cause: StaleCause;
  latestVersion?: Maybe<Scalars['String']['output']>;
  usedVersion?: Maybe<Scalars['String']['output']>;
};

export type SubmitDagInput = {
  /** The default cache policy of its jobs (off when absent). */
  cache?: InputMaybe<CachePolicyInput>;
  /** Called with the DAG's final state when it reaches one (POST, JSON body, retried). */
  callbackUrl?: InputMaybe<Scalars['String']['input']>;
  hardSla?: InputMaybe<Scalars['DateTime']['input']>;
  /** Client-chosen id; submitting the same id again with the same jobs returns the existing DAG. */
  id?: InputMaybe<Scalars['ID']['input']>;
  jobs: Array<JobInput>;
  metadata?: InputMaybe<Scalars['JSON']['input']>;
  name: Scalars['String']['input'];
  softSla?: InputMaybe<Scalars['DateTime']['input']>;
};

export type Subscription = {
  __typename?: 'Subscription';
  assetMaterialized: AssetMaterializedEvent;
  assetsIncomplete: IncompleteAssetsEvent;
  dagCompleted: DagEvent;
  /** Every state change of one DAG, or of every DAG of the tenant when dagId is absent. */
  dagStatusChanged: DagEvent;
  jobStatusChanged: JobEvent;
  slaMissed: SlaEvent;
};


export type SubscriptionAssetMaterializedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  assetKey?: InputMaybe<Scalars['String']['input']>;
  namespace?: InputMaybe<Scalars['String']['input']>;
};


export type SubscriptionAssetsIncompleteArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  dagId?: InputMaybe<Scalars['ID']['input']>;
};


export type SubscriptionDagCompletedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  name?: InputMaybe<Scalars['String']['input']>;
};


export type SubscriptionDagStatusChangedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  dagId?: InputMaybe<Scalars['ID']['input']>;
};


export type SubscriptionJobStatusChangedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  dagId: Scalars['ID']['input'];
};


export type SubscriptionSlaMissedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  dagId?: InputMaybe<Scalars['ID']['input']>;
};

export type TaskStateEntry = {
  __typename?: 'TaskStateEntry';
  createdAt: Scalars['DateTime']['output'];
  key: Scalars['String']['output'];
  metadata?: Maybe<Scalars['JSON']['output']>;
  tryNumber: Scalars['Int']['output'];
  value?: Maybe<Scalars['JSON']['output']>;
};

/** The caller's tenant: its fair-share policy and where it stands. */
export type TenantQuota = {
  __typename?: 'TenantQuota';
  activeJobs: Scalars['Int']['output'];
  maxActiveJobs?: Maybe<Scalars['Int']['output']>;
  maxActiveJobsPerExecutor?: Maybe<Scalars['JSON']['output']>;
  rateLimits: Array<RateLimit>;
  /** Jobs held back now, per cause: MAX_ACTIVE, EXECUTOR_CAP, CONCURRENCY_KEY, RATE_LIMIT. */
  throttled: Array<ThrottleCount>;
  weight: Scalars['Float']['output'];
};

export type ThrottleCount = {
  __typename?: 'ThrottleCount';
  cause: Scalars['String']['output'];
  concurrencyKey?: Maybe<Scalars['String']['output']>;
  executor?: Maybe<Scalars['String']['output']>;
  jobs: Scalars['Int']['output'];
};

export type UpstreamAsset = {
  __typename?: 'UpstreamAsset';
  assetKey: Scalars['String']['output'];
  nodeTaskId: Scalars['String']['output'];
  partitionKey?: Maybe<Scalars['String']['output']>;
  uri?: Maybe<Scalars['String']['output']>;
  version: Scalars['String']['output'];
};

export type UpstreamAssetInput = {
  assetKey: Scalars['String']['input'];
  partitionKey?: InputMaybe<Scalars['String']['input']>;
  version: Scalars['String']['input'];
};

export type VersionScheme =
  /** Length-framed fields: unambiguous. The default. */
  | 'FRAMED'
  /** Byte-identical to the Python Marie-AI AssetTracker.compute_asset_version, for mixed fleets. */
  | 'MARIE_COMPAT';

/** The caller: its key, tenant and role, and what that role may do. */
export type Viewer = {
  __typename?: 'Viewer';
  /** The actions its role allows (read, subscribe, dag.submit, dag.cancel, dag.retry, …): what a client may offer. */
  allowed: Array<Scalars['String']['output']>;
  /** The calling key's name. */
  keyName: Scalars['String']['output'];
  role: Role;
  /** The tenant's slug. */
  tenant: Scalars['String']['output'];
};

export type Worker = {
  __typename?: 'Worker';
  activeJobs: Scalars['Int']['output'];
  /** Summed over its executors. */
  concurrency: Scalars['Int']['output'];
  executors: Array<Scalars['String']['output']>;
  gpus: Array<Gpu>;
  healthy: Scalars['Boolean']['output'];
  hostname: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  lastSeenAt: Scalars['DateTime']['output'];
};

export type MatFragment = { __typename?: 'Materialization', id: string, version: string, partitionKey?: string | null, dagId?: string | null, nodeTaskId?: string | null, createdAt: string, sizeBytes?: string | null, codeFingerprint?: string | null, isStale: boolean, staleReasons: Array<{ __typename?: 'StaleReason', cause: StaleCause, assetKey: string, usedVersion?: string | null, latestVersion?: string | null }> };

export type AssetsQueryVariables = Exact<{
  search?: InputMaybe<Scalars['String']['input']>;
  namespace?: InputMaybe<Scalars['String']['input']>;
  kind?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type AssetsQuery = { __typename?: 'Query', assets: { __typename?: 'AssetConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', endCursor?: string | null, hasNextPage: boolean }, edges: Array<{ __typename?: 'AssetEdge', node: { __typename?: 'Asset', key: string, namespace: string, kind?: string | null, updatedAt: string, latest?: { __typename?: 'Materialization', version: string, createdAt: string, isStale: boolean } | null } }> } };

export type AssetPageQueryVariables = Exact<{
  key: Scalars['String']['input'];
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type AssetPageQuery = { __typename?: 'Query', asset?: { __typename?: 'Asset', key: string, namespace: string, kind?: string | null, description?: string | null, tags?: unknown | null, createdAt: string, updatedAt: string, latest?: { __typename?: 'Materialization', id: string, version: string, partitionKey?: string | null, dagId?: string | null, nodeTaskId?: string | null, createdAt: string, sizeBytes?: string | null, codeFingerprint?: string | null, isStale: boolean, staleReasons: Array<{ __typename?: 'StaleReason', cause: StaleCause, assetKey: string, usedVersion?: string | null, latestVersion?: string | null }> } | null, partitions: { __typename?: 'PartitionConnection', totalCount: number, edges: Array<{ __typename?: 'PartitionEdge', node: { __typename?: 'Partition', key: string, latest: { __typename?: 'Materialization', id: string, version: string, partitionKey?: string | null, dagId?: string | null, nodeTaskId?: string | null, createdAt: string, sizeBytes?: string | null, codeFingerprint?: string | null, isStale: boolean, staleReasons: Array<{ __typename?: 'StaleReason', cause: StaleCause, assetKey: string, usedVersion?: string | null, latestVersion?: string | null }> } } }> }, materializations: { __typename?: 'MaterializationConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', endCursor?: string | null, hasNextPage: boolean }, edges: Array<{ __typename?: 'MaterializationEdge', node: { __typename?: 'Materialization', id: string, version: string, partitionKey?: string | null, dagId?: string | null, nodeTaskId?: string | null, createdAt: string, sizeBytes?: string | null, codeFingerprint?: string | null, isStale: boolean, staleReasons: Array<{ __typename?: 'StaleReason', cause: StaleCause, assetKey: string, usedVersion?: string | null, latestVersion?: string | null }> } }> }, upstream: Array<{ __typename?: 'Asset', key: string, kind?: string | null }>, downstream: Array<{ __typename?: 'Asset', key: string, kind?: string | null }> } | null, impact: { __typename?: 'ImpactReport', downstreamCount: number, downstreamAssets: Array<string>, affectedMaterializations: number, recentJobCount: number, recentDagCount: number } };

export type LineageQueryVariables = Exact<{
  key: Scalars['String']['input'];
  depth?: InputMaybe<Scalars['Int']['input']>;
  direction?: InputMaybe<LineageDirection>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type LineageQuery = { __typename?: 'Query', lineage: { __typename?: 'LineageGraph', assetKey: string, truncated: boolean, totalNodes: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null }, nodes: Array<{ __typename?: 'LineageNode', assetKey: string, distance: number, asset?: { __typename?: 'Asset', key: string, kind?: string | null, latest?: { __typename?: 'Materialization', version: string, isStale: boolean } | null, upstream: Array<{ __typename?: 'Asset', key: string }>, downstream: Array<{ __typename?: 'Asset', key: string }> } | null }>, edges: Array<{ __typename?: 'LineageEdge', fromAssetKey: string, toAssetKey: string }> } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { __typename?: 'Query', me: { __typename?: 'Viewer', keyName: string, tenant: string, role: Role, allowed: Array<string> } };

export type DagRowFragment = { __typename?: 'Dag', id: string, name: string, state: DagState, slaStatus: SlaStatus, softSla?: string | null, hardSla?: string | null, createdAt: string, startedAt?: string | null, completedAt?: string | null, submittedBy?: string | null, progress: { __typename?: 'DagProgress', total: number, completed: number, failed: number, active: number, pending: number, skipped: number, percent: number } };

export type RunsQueryVariables = Exact<{
  state?: InputMaybe<DagState>;
  name?: InputMaybe<Scalars['String']['input']>;
  createdAfter?: InputMaybe<Scalars['DateTime']['input']>;
  createdBefore?: InputMaybe<Scalars['DateTime']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type RunsQuery = { __typename?: 'Query', eventCursor: string, dags: { __typename?: 'DagConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', endCursor?: string | null, hasNextPage: boolean }, edges: Array<{ __typename?: 'DagEdge', node: { __typename?: 'Dag', id: string, name: string, state: DagState, slaStatus: SlaStatus, softSla?: string | null, hardSla?: string | null, createdAt: string, startedAt?: string | null, completedAt?: string | null, submittedBy?: string | null, progress: { __typename?: 'DagProgress', total: number, completed: number, failed: number, active: number, pending: number, skipped: number, percent: number } } }> } };

export type DagStatusSubscriptionVariables = Exact<{
  after?: InputMaybe<Scalars['String']['input']>;
  dagId?: InputMaybe<Scalars['ID']['input']>;
}>;


export type DagStatusSubscription = { __typename?: 'Subscription', dagStatusChanged: { __typename?: 'DagEvent', cursor: string, dagId: string, state: DagState, progress: { __typename?: 'DagProgress', total: number, completed: number, failed: number, active: number, pending: number, skipped: number, percent: number }, dag?: { __typename?: 'Dag', id: string, name: string, state: DagState, slaStatus: SlaStatus, softSla?: string | null, hardSla?: string | null, createdAt: string, startedAt?: string | null, completedAt?: string | null, submittedBy?: string | null, progress: { __typename?: 'DagProgress', total: number, completed: number, failed: number, active: number, pending: number, skipped: number, percent: number } } | null } };

export type GraphJobFragment = { __typename?: 'Job', taskId: string, executor: string, jobLevel: number, state: JobState, tryNumber: number, progressPercent?: number | null, dependencies: Array<{ __typename?: 'Job', taskId: string }>, attempts: Array<{ __typename?: 'JobAttempt', outcome: AttemptOutcome }> };

export type GroupFragment = { __typename?: 'JobGroup', level: number, executor: string, progress: { __typename?: 'DagProgress', total: number, completed: number, failed: number, active: number, pending: number, skipped: number, cached: number, percent: number } };

export type RunDetailQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  first?: InputMaybe<Scalars['Int']['input']>;
}>;


export type RunDetailQuery = { __typename?: 'Query', eventCursor: string, dag?: { __typename?: 'Dag', id: string, name: string, state: DagState, slaStatus: SlaStatus, softSla?: string | null, hardSla?: string | null, createdAt: string, startedAt?: string | null, completedAt?: string | null, submittedBy?: string | null, jobGroups: Array<{ __typename?: 'JobGroup', level: number, executor: string, progress: { __typename?: 'DagProgress', total: number, completed: number, failed: number, active: number, pending: number, skipped: number, cached: number, percent: number } }>, jobPage: { __typename?: 'JobConnection', totalCount: number, edges: Array<{ __typename?: 'JobEdge', node: { __typename?: 'Job', taskId: string, executor: string, jobLevel: number, state: JobState, tryNumber: number, progressPercent?: number | null, dependencies: Array<{ __typename?: 'Job', taskId: string }>, attempts: Array<{ __typename?: 'JobAttempt', outcome: AttemptOutcome }> } }> }, progress: { __typename?: 'DagProgress', total: number, completed: number, failed: number, active: number, pending: number, skipped: number, percent: number } } | null };

export type GroupJobsQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  level: Scalars['Int']['input'];
  executor: Scalars['String']['input'];
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type GroupJobsQuery = { __typename?: 'Query', dag?: { __typename?: 'Dag', id: string, jobPage: { __typename?: 'JobConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null }, edges: Array<{ __typename?: 'JobEdge', node: { __typename?: 'Job', taskId: string, executor: string, jobLevel: number, state: JobState, tryNumber: number, progressPercent?: number | null, dependencies: Array<{ __typename?: 'Job', taskId: string }>, attempts: Array<{ __typename?: 'JobAttempt', outcome: AttemptOutcome }> } }> } } | null };

export type JobGroupsQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type JobGroupsQuery = { __typename?: 'Query', dag?: { __typename?: 'Dag', id: string, jobGroups: Array<{ __typename?: 'JobGroup', level: number, executor: string, progress: { __typename?: 'DagProgress', total: number, completed: number, failed: number, active: number, pending: number, skipped: number, cached: number, percent: number } }> } | null };

export type JobStatusSubscriptionVariables = Exact<{
  dagId: Scalars['ID']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type JobStatusSubscription = { __typename?: 'Subscription', jobStatusChanged: { __typename?: 'JobEvent', cursor: string, taskId: string, state: JobState, previousState?: JobState | null, tryNumber: number, progressPercent?: number | null, error?: string | null, job?: { __typename?: 'Job', jobLevel: number, executor: string, attempts: Array<{ __typename?: 'JobAttempt', outcome: AttemptOutcome }> } | null } };

export type JobPanelQueryVariables = Exact<{
  dagId: Scalars['ID']['input'];
  taskId: Scalars['String']['input'];
}>;


export type JobPanelQuery = { __typename?: 'Query', job?: { __typename?: 'Job', id: string, taskId: string, name: string, executor: string, state: JobState, tryNumber: number, retryLimit: number, jobLevel: number, error?: string | null, progressPercent?: number | null, progressMessage?: string | null, output?: unknown | null, startedAt?: string | null, completedAt?: string | null, attempts: Array<{ __typename?: 'JobAttempt', tryNumber: number, outcome: AttemptOutcome, workerId?: string | null, startedAt?: string | null, finishedAt?: string | null, error?: string | null }>, taskState: Array<{ __typename?: 'TaskStateEntry', key: string, tryNumber: number, value?: unknown | null, createdAt: string }>, materializations: Array<{ __typename?: 'Materialization', id: string, assetKey: string, version: string, partitionKey?: string | null, createdAt: string, isStale: boolean }>, assetStatus: { __typename?: 'NodeAssetStatus', expectedAssets: Array<string>, requiredAssets: Array<string>, materializedAssets: Array<string>, missingRequiredAssets: Array<string>, completionPercentage: number, isComplete: boolean } } | null };

export type CancelDagMutationVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type CancelDagMutation = { __typename?: 'Mutation', cancelDag: { __typename?: 'Dag', id: string, state: DagState } };

export type CancelJobMutationVariables = Exact<{
  dagId: Scalars['ID']['input'];
  taskId: Scalars['String']['input'];
}>;


export type CancelJobMutation = { __typename?: 'Mutation', cancelJob: { __typename?: 'Job', taskId: string, state: JobState } };

export type RetryJobMutationVariables = Exact<{
  dagId: Scalars['ID']['input'];
  taskId: Scalars['String']['input'];
}>;


export type RetryJobMutation = { __typename?: 'Mutation', retryJob: { __typename?: 'Job', taskId: string, state: JobState, tryNumber: number } };

export type FleetQueryVariables = Exact<{ [key: string]: never; }>;


export type FleetQuery = { __typename?: 'Query', workers: Array<{ __typename?: 'Worker', id: string, hostname: string, executors: Array<string>, concurrency: number, activeJobs: number, healthy: boolean, lastSeenAt: string, gpus: Array<{ __typename?: 'Gpu', index: number, name: string, memoryTotalMiB: number, memoryUsedMiB?: number | null, utilizationPercent?: number | null }> }>, queues: Array<{ __typename?: 'QueueStats', executor: string, waiting: number, active: number, delayed: number, failed: number, completed: number, throttled: number, workers: number }>, quota: { __typename?: 'TenantQuota', weight: number, maxActiveJobs?: number | null, maxActiveJobsPerExecutor?: unknown | null, activeJobs: number, rateLimits: Array<{ __typename?: 'RateLimit', executor: string, jobs: number, perSeconds: number }>, throttled: Array<{ __typename?: 'ThrottleCount', cause: string, executor?: string | null, concurrencyKey?: string | null, jobs: number }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const MatFragmentDoc = new TypedDocumentString(`
    fragment Mat on Materialization {
  id
  version
  partitionKey
  dagId
  nodeTaskId
  createdAt
  sizeBytes
  codeFingerprint
  isStale
  staleReasons {
    cause
    assetKey
    usedVersion
    latestVersion
  }
}
    `, {"fragmentName":"Mat"}) as unknown as TypedDocumentString<MatFragment, unknown>;
export const DagRowFragmentDoc = new TypedDocumentString(`
    fragment DagRow on Dag {
  id
  name
  state
  slaStatus
  softSla
  hardSla
  createdAt
  startedAt
  completedAt
  submittedBy
  progress {
    total
    completed
    failed
    active
    pending
    skipped
    percent
  }
}
    `, {"fragmentName":"DagRow"}) as unknown as TypedDocumentString<DagRowFragment, unknown>;
export const GraphJobFragmentDoc = new TypedDocumentString(`
    fragment GraphJob on Job {
  taskId
  executor
  jobLevel
  state
  tryNumber
  progressPercent
  dependencies {
    taskId
  }
  attempts {
    outcome
  }
}
    `, {"fragmentName":"GraphJob"}) as unknown as TypedDocumentString<GraphJobFragment, unknown>;
export const GroupFragmentDoc = new TypedDocumentString(`
    fragment Group on JobGroup {
  level
  executor
  progress {
    total
    completed
    failed
    active
    pending
    skipped
    cached
    percent
  }
}
    `, {"fragmentName":"Group"}) as unknown as TypedDocumentString<GroupFragment, unknown>;
export const AssetsDocument = new TypedDocumentString(`
    query Assets($search: String, $namespace: String, $kind: String, $first: Int, $after: String) {
  assets(
    search: $search
    namespace: $namespace
    kind: $kind
    first: $first
    after: $after
  ) {
    totalCount
    pageInfo {
      endCursor
      hasNextPage
    }
    edges {
      node {
        key
        namespace
        kind
        updatedAt
        latest {
          version
          createdAt
          isStale
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<AssetsQuery, AssetsQueryVariables>;
export const AssetPageDocument = new TypedDocumentString(`
    query AssetPage($key: String!, $first: Int, $after: String) {
  asset(key: $key) {
    key
    namespace
    kind
    description
    tags
    createdAt
    updatedAt
    latest {
      ...Mat
    }
    partitions(first: 100) {
      totalCount
      edges {
        node {
          key
          latest {
            ...Mat
          }
        }
      }
    }
    materializations(first: $first, after: $after) {
      totalCount
      pageInfo {
        endCursor
        hasNextPage
      }
      edges {
        node {
          ...Mat
        }
      }
    }
    upstream {
      key
      kind
    }
    downstream {
      key
      kind
    }
  }
  impact(assetKey: $key) {
    downstreamCount
    downstreamAssets
    affectedMaterializations
    recentJobCount
    recentDagCount
  }
}
    fragment Mat on Materialization {
  id
  version
  partitionKey
  dagId
  nodeTaskId
  createdAt
  sizeBytes
  codeFingerprint
  isStale
  staleReasons {
    cause
    assetKey
    usedVersion
    latestVersion
  }
}`) as unknown as TypedDocumentString<AssetPageQuery, AssetPageQueryVariables>;
export const LineageDocument = new TypedDocumentString(`
    query Lineage($key: String!, $depth: Int, $direction: LineageDirection, $first: Int, $after: String) {
  lineage(
    assetKey: $key
    depth: $depth
    direction: $direction
    first: $first
    after: $after
  ) {
    assetKey
    truncated
    totalNodes
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      assetKey
      distance
      asset {
        key
        kind
        latest {
          version
          isStale
        }
        upstream {
          key
        }
        downstream {
          key
        }
      }
    }
    edges {
      fromAssetKey
      toAssetKey
    }
  }
}
    `) as unknown as TypedDocumentString<LineageQuery, LineageQueryVariables>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    keyName
    tenant
    role
    allowed
  }
}
    `) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const RunsDocument = new TypedDocumentString(`
    query Runs($state: DagState, $name: String, $createdAfter: DateTime, $createdBefore: DateTime, $first: Int, $after: String) {
  eventCursor
  dags(
    state: $state
    name: $name
    createdAfter: $createdAfter
    createdBefore: $createdBefore
    first: $first
    after: $after
  ) {
    totalCount
    pageInfo {
      endCursor
      hasNextPage
    }
    edges {
      node {
        ...DagRow
      }
    }
  }
}
    fragment DagRow on Dag {
  id
  name
  state
  slaStatus
  softSla
  hardSla
  createdAt
  startedAt
  completedAt
  submittedBy
  progress {
    total
    completed
    failed
    active
    pending
    skipped
    percent
  }
}`) as unknown as TypedDocumentString<RunsQuery, RunsQueryVariables>;
export const DagStatusDocument = new TypedDocumentString(`
    subscription DagStatus($after: String, $dagId: ID) {
  dagStatusChanged(after: $after, dagId: $dagId) {
    cursor
    dagId
    state
    progress {
      total
      completed
      failed
      active
      pending
      skipped
      percent
    }
    dag {
      ...DagRow
    }
  }
}
    fragment DagRow on Dag {
  id
  name
  state
  slaStatus
  softSla
  hardSla
  createdAt
  startedAt
  completedAt
  submittedBy
  progress {
    total
    completed
    failed
    active
    pending
    skipped
    percent
  }
}`) as unknown as TypedDocumentString<DagStatusSubscription, DagStatusSubscriptionVariables>;
export const RunDetailDocument = new TypedDocumentString(`
    query RunDetail($id: ID!, $first: Int) {
  eventCursor
  dag(id: $id) {
    ...DagRow
    jobGroups {
      ...Group
    }
    jobPage(first: $first) {
      totalCount
      edges {
        node {
          ...GraphJob
        }
      }
    }
  }
}
    fragment DagRow on Dag {
  id
  name
  state
  slaStatus
  softSla
  hardSla
  createdAt
  startedAt
  completedAt
  submittedBy
  progress {
    total
    completed
    failed
    active
    pending
    skipped
    percent
  }
}
fragment GraphJob on Job {
  taskId
  executor
  jobLevel
  state
  tryNumber
  progressPercent
  dependencies {
    taskId
  }
  attempts {
    outcome
  }
}
fragment Group on JobGroup {
  level
  executor
  progress {
    total
    completed
    failed
    active
    pending
    skipped
    cached
    percent
  }
}`) as unknown as TypedDocumentString<RunDetailQuery, RunDetailQueryVariables>;
export const GroupJobsDocument = new TypedDocumentString(`
    query GroupJobs($id: ID!, $level: Int!, $executor: String!, $first: Int, $after: String) {
  dag(id: $id) {
    id
    jobPage(level: $level, executor: $executor, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...GraphJob
        }
      }
    }
  }
}
    fragment GraphJob on Job {
  taskId
  executor
  jobLevel
  state
  tryNumber
  progressPercent
  dependencies {
    taskId
  }
  attempts {
    outcome
  }
}`) as unknown as TypedDocumentString<GroupJobsQuery, GroupJobsQueryVariables>;
export const JobGroupsDocument = new TypedDocumentString(`
    query JobGroups($id: ID!) {
  dag(id: $id) {
    id
    jobGroups {
      ...Group
    }
  }
}
    fragment Group on JobGroup {
  level
  executor
  progress {
    total
    completed
    failed
    active
    pending
    skipped
    cached
    percent
  }
}`) as unknown as TypedDocumentString<JobGroupsQuery, JobGroupsQueryVariables>;
export const JobStatusDocument = new TypedDocumentString(`
    subscription JobStatus($dagId: ID!, $after: String) {
  jobStatusChanged(dagId: $dagId, after: $after) {
    cursor
    taskId
    state
    previousState
    tryNumber
    progressPercent
    error
    job {
      jobLevel
      executor
      attempts {
        outcome
      }
    }
  }
}
    `) as unknown as TypedDocumentString<JobStatusSubscription, JobStatusSubscriptionVariables>;
export const JobPanelDocument = new TypedDocumentString(`
    query JobPanel($dagId: ID!, $taskId: String!) {
  job(dagId: $dagId, taskId: $taskId) {
    id
    taskId
    name
    executor
    state
    tryNumber
    retryLimit
    jobLevel
    error
    progressPercent
    progressMessage
    output
    startedAt
    completedAt
    attempts {
      tryNumber
      outcome
      workerId
      startedAt
      finishedAt
      error
    }
    taskState {
      key
      tryNumber
      value
      createdAt
    }
    materializations {
      id
      assetKey
      version
      partitionKey
      createdAt
      isStale
    }
    assetStatus {
      expectedAssets
      requiredAssets
      materializedAssets
      missingRequiredAssets
      completionPercentage
      isComplete
    }
  }
}
    `) as unknown as TypedDocumentString<JobPanelQuery, JobPanelQueryVariables>;
export const CancelDagDocument = new TypedDocumentString(`
    mutation CancelDag($id: ID!) {
  cancelDag(id: $id) {
    id
    state
  }
}
    `) as unknown as TypedDocumentString<CancelDagMutation, CancelDagMutationVariables>;
export const CancelJobDocument = new TypedDocumentString(`
    mutation CancelJob($dagId: ID!, $taskId: String!) {
  cancelJob(dagId: $dagId, taskId: $taskId) {
    taskId
    state
  }
}
    `) as unknown as TypedDocumentString<CancelJobMutation, CancelJobMutationVariables>;
export const RetryJobDocument = new TypedDocumentString(`
    mutation RetryJob($dagId: ID!, $taskId: String!) {
  retryJob(dagId: $dagId, taskId: $taskId) {
    taskId
    state
    tryNumber
  }
}
    `) as unknown as TypedDocumentString<RetryJobMutation, RetryJobMutationVariables>;
export const FleetDocument = new TypedDocumentString(`
    query Fleet {
  workers {
    id
    hostname
    executors
    concurrency
    activeJobs
    healthy
    lastSeenAt
    gpus {
      index
      name
      memoryTotalMiB
      memoryUsedMiB
      utilizationPercent
    }
  }
  queues {
    executor
    waiting
    active
    delayed
    failed
    completed
    throttled
    workers
  }
  quota {
    weight
    maxActiveJobs
    maxActiveJobsPerExecutor
    rateLimits {
      executor
      jobs
      perSeconds
    }
    activeJobs
    throttled {
      cause
      executor
      concurrencyKey
      jobs
    }
  }
}
    `) as unknown as TypedDocumentString<FleetQuery, FleetQueryVariables>;