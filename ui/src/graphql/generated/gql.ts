/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment Mat on Materialization {\n    id\n    version\n    partitionKey\n    dagId\n    nodeTaskId\n    createdAt\n    sizeBytes\n    codeFingerprint\n    isStale\n    staleReasons {\n      cause\n      assetKey\n      usedVersion\n      latestVersion\n    }\n  }\n": typeof types.MatFragmentDoc,
    "\n  query Assets($search: String, $namespace: String, $kind: String, $first: Int, $after: String) {\n    assets(search: $search, namespace: $namespace, kind: $kind, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        endCursor\n        hasNextPage\n      }\n      edges {\n        node {\n          key\n          namespace\n          kind\n          updatedAt\n          latest {\n            version\n            createdAt\n            isStale\n          }\n        }\n      }\n    }\n  }\n": typeof types.AssetsDocument,
    "\n  query AssetPage($key: String!, $first: Int, $after: String) {\n    asset(key: $key) {\n      key\n      namespace\n      kind\n      description\n      tags\n      createdAt\n      updatedAt\n      latest {\n        ...Mat\n      }\n      partitions(first: 100) {\n        totalCount\n        edges {\n          node {\n            key\n            latest {\n              ...Mat\n            }\n          }\n        }\n      }\n      materializations(first: $first, after: $after) {\n        totalCount\n        pageInfo {\n          endCursor\n          hasNextPage\n        }\n        edges {\n          node {\n            ...Mat\n          }\n        }\n      }\n      upstream {\n        key\n        kind\n      }\n      downstream {\n        key\n        kind\n      }\n    }\n    impact(assetKey: $key) {\n      downstreamCount\n      downstreamAssets\n      affectedMaterializations\n      recentJobCount\n      recentDagCount\n    }\n  }\n": typeof types.AssetPageDocument,
    "\n  query Lineage($key: String!, $depth: Int, $direction: LineageDirection, $first: Int, $after: String) {\n    lineage(assetKey: $key, depth: $depth, direction: $direction, first: $first, after: $after) {\n      assetKey\n      truncated\n      totalNodes\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        assetKey\n        distance\n        asset {\n          key\n          kind\n          latest {\n            version\n            isStale\n          }\n          upstream {\n            key\n          }\n          downstream {\n            key\n          }\n        }\n      }\n      edges {\n        fromAssetKey\n        toAssetKey\n      }\n    }\n  }\n": typeof types.LineageDocument,
    "\n  query Me {\n    me {\n      keyName\n      tenant\n      role\n      allowed\n    }\n  }\n": typeof types.MeDocument,
    "\n  fragment DagRow on Dag {\n    id\n    name\n    state\n    slaStatus\n    softSla\n    hardSla\n    createdAt\n    startedAt\n    completedAt\n    submittedBy\n    progress {\n      total\n      completed\n      failed\n      active\n      pending\n      skipped\n      percent\n    }\n  }\n": typeof types.DagRowFragmentDoc,
    "\n  query Runs(\n    $state: DagState\n    $name: String\n    $createdAfter: DateTime\n    $createdBefore: DateTime\n    $first: Int\n    $after: String\n  ) {\n    eventCursor\n    dags(\n      state: $state\n      name: $name\n      createdAfter: $createdAfter\n      createdBefore: $createdBefore\n      first: $first\n      after: $after\n    ) {\n      totalCount\n      pageInfo {\n        endCursor\n        hasNextPage\n      }\n      edges {\n        node {\n          ...DagRow\n        }\n      }\n    }\n  }\n": typeof types.RunsDocument,
    "\n  subscription DagStatus($after: String, $dagId: ID) {\n    dagStatusChanged(after: $after, dagId: $dagId) {\n      cursor\n      dagId\n      state\n      progress {\n        total\n        completed\n        failed\n        active\n        pending\n        skipped\n        percent\n      }\n      dag {\n        ...DagRow\n      }\n    }\n  }\n": typeof types.DagStatusDocument,
    "\n  fragment GraphJob on Job {\n    taskId\n    executor\n    jobLevel\n    state\n    tryNumber\n    progressPercent\n    dependencies {\n      taskId\n    }\n    attempts {\n      outcome\n    }\n  }\n": typeof types.GraphJobFragmentDoc,
    "\n  fragment Group on JobGroup {\n    level\n    executor\n    progress {\n      total\n      completed\n      failed\n      active\n      pending\n      skipped\n      cached\n      percent\n    }\n  }\n": typeof types.GroupFragmentDoc,
    "\n  query RunDetail($id: ID!, $first: Int) {\n    eventCursor\n    dag(id: $id) {\n      ...DagRow\n      jobGroups {\n        ...Group\n      }\n      jobPage(first: $first) {\n        totalCount\n        edges {\n          node {\n            ...GraphJob\n          }\n        }\n      }\n    }\n  }\n": typeof types.RunDetailDocument,
    "\n  query GroupJobs($id: ID!, $level: Int!, $executor: String!, $first: Int, $after: String) {\n    dag(id: $id) {\n      id\n      jobPage(level: $level, executor: $executor, first: $first, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...GraphJob\n          }\n        }\n      }\n    }\n  }\n": typeof types.GroupJobsDocument,
    "\n  query JobGroups($id: ID!) {\n    dag(id: $id) {\n      id\n      jobGroups {\n        ...Group\n      }\n    }\n  }\n": typeof types.JobGroupsDocument,
    "\n  subscription JobStatus($dagId: ID!, $after: String) {\n    jobStatusChanged(dagId: $dagId, after: $after) {\n      cursor\n      taskId\n      state\n      previousState\n      tryNumber\n      progressPercent\n      error\n      job {\n        jobLevel\n        executor\n        attempts {\n          outcome\n        }\n      }\n    }\n  }\n": typeof types.JobStatusDocument,
    "\n  query JobPanel($dagId: ID!, $taskId: String!) {\n    job(dagId: $dagId, taskId: $taskId) {\n      id\n      taskId\n      name\n      executor\n      state\n      tryNumber\n      retryLimit\n      jobLevel\n      error\n      progressPercent\n      progressMessage\n      output\n      startedAt\n      completedAt\n      attempts {\n        tryNumber\n        outcome\n        workerId\n        startedAt\n        finishedAt\n        error\n      }\n      taskState {\n        key\n        tryNumber\n        value\n        createdAt\n      }\n      materializations {\n        id\n        assetKey\n        version\n        partitionKey\n        createdAt\n        isStale\n      }\n      assetStatus {\n        expectedAssets\n        requiredAssets\n        materializedAssets\n        missingRequiredAssets\n        completionPercentage\n        isComplete\n      }\n    }\n  }\n": typeof types.JobPanelDocument,
    "\n  mutation CancelDag($id: ID!) {\n    cancelDag(id: $id) {\n      id\n      state\n    }\n  }\n": typeof types.CancelDagDocument,
    "\n  mutation CancelJob($dagId: ID!, $taskId: String!) {\n    cancelJob(dagId: $dagId, taskId: $taskId) {\n      taskId\n      state\n    }\n  }\n": typeof types.CancelJobDocument,
    "\n  mutation RetryJob($dagId: ID!, $taskId: String!) {\n    retryJob(dagId: $dagId, taskId: $taskId) {\n      taskId\n      state\n      tryNumber\n    }\n  }\n": typeof types.RetryJobDocument,
    "\n  query Fleet {\n    workers {\n      id\n      hostname\n      executors\n      concurrency\n      activeJobs\n      healthy\n      lastSeenAt\n      gpus {\n        index\n        name\n        memoryTotalMiB\n        memoryUsedMiB\n        utilizationPercent\n      }\n    }\n    queues {\n      executor\n      waiting\n      active\n      delayed\n      failed\n      completed\n      throttled\n      workers\n    }\n    quota {\n      weight\n      maxActiveJobs\n      maxActiveJobsPerExecutor\n      rateLimits {\n        executor\n        jobs\n        perSeconds\n      }\n      activeJobs\n      throttled {\n        cause\n        executor\n        concurrencyKey\n        jobs\n      }\n    }\n  }\n": typeof types.FleetDocument,
};
const documents: Documents = {
    "\n  fragment Mat on Materialization {\n    id\n    version\n    partitionKey\n    dagId\n    nodeTaskId\n    createdAt\n    sizeBytes\n    codeFingerprint\n    isStale\n    staleReasons {\n      cause\n      assetKey\n      usedVersion\n      latestVersion\n    }\n  }\n": types.MatFragmentDoc,
    "\n  query Assets($search: String, $namespace: String, $kind: String, $first: Int, $after: String) {\n    assets(search: $search, namespace: $namespace, kind: $kind, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        endCursor\n        hasNextPage\n      }\n      edges {\n        node {\n          key\n          namespace\n          kind\n          updatedAt\n          latest {\n            version\n            createdAt\n            isStale\n          }\n        }\n      }\n    }\n  }\n": types.AssetsDocument,
    "\n  query AssetPage($key: String!, $first: Int, $after: String) {\n    asset(key: $key) {\n      key\n      namespace\n      kind\n      description\n      tags\n      createdAt\n      updatedAt\n      latest {\n        ...Mat\n      }\n      partitions(first: 100) {\n        totalCount\n        edges {\n          node {\n            key\n            latest {\n              ...Mat\n            }\n          }\n        }\n      }\n      materializations(first: $first, after: $after) {\n        totalCount\n        pageInfo {\n          endCursor\n          hasNextPage\n        }\n        edges {\n          node {\n            ...Mat\n          }\n        }\n      }\n      upstream {\n        key\n        kind\n      }\n      downstream {\n        key\n        kind\n      }\n    }\n    impact(assetKey: $key) {\n      downstreamCount\n      downstreamAssets\n      affectedMaterializations\n      recentJobCount\n      recentDagCount\n    }\n  }\n": types.AssetPageDocument,
    "\n  query Lineage($key: String!, $depth: Int, $direction: LineageDirection, $first: Int, $after: String) {\n    lineage(assetKey: $key, depth: $depth, direction: $direction, first: $first, after: $after) {\n      assetKey\n      truncated\n      totalNodes\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        assetKey\n        distance\n        asset {\n          key\n          kind\n          latest {\n            version\n            isStale\n          }\n          upstream {\n            key\n          }\n          downstream {\n            key\n          }\n        }\n      }\n      edges {\n        fromAssetKey\n        toAssetKey\n      }\n    }\n  }\n": types.LineageDocument,
    "\n  query Me {\n    me {\n      keyName\n      tenant\n      role\n      allowed\n    }\n  }\n": types.MeDocument,
    "\n  fragment DagRow on Dag {\n    id\n    name\n    state\n    slaStatus\n    softSla\n    hardSla\n    createdAt\n    startedAt\n    completedAt\n    submittedBy\n    progress {\n      total\n      completed\n      failed\n      active\n      pending\n      skipped\n      percent\n    }\n  }\n": types.DagRowFragmentDoc,
    "\n  query Runs(\n    $state: DagState\n    $name: String\n    $createdAfter: DateTime\n    $createdBefore: DateTime\n    $first: Int\n    $after: String\n  ) {\n    eventCursor\n    dags(\n      state: $state\n      name: $name\n      createdAfter: $createdAfter\n      createdBefore: $createdBefore\n      first: $first\n      after: $after\n    ) {\n      totalCount\n      pageInfo {\n        endCursor\n        hasNextPage\n      }\n      edges {\n        node {\n          ...DagRow\n        }\n      }\n    }\n  }\n": types.RunsDocument,
    "\n  subscription DagStatus($after: String, $dagId: ID) {\n    dagStatusChanged(after: $after, dagId: $dagId) {\n      cursor\n      dagId\n      state\n      progress {\n        total\n        completed\n        failed\n        active\n        pending\n        skipped\n        percent\n      }\n      dag {\n        ...DagRow\n      }\n    }\n  }\n": types.DagStatusDocument,
    "\n  fragment GraphJob on Job {\n    taskId\n    executor\n    jobLevel\n    state\n    tryNumber\n    progressPercent\n    dependencies {\n      taskId\n    }\n    attempts {\n      outcome\n    }\n  }\n": types.GraphJobFragmentDoc,
    "\n  fragment Group on JobGroup {\n    level\n    executor\n    progress {\n      total\n      completed\n      failed\n      active\n      pending\n      skipped\n      cached\n      percent\n    }\n  }\n": types.GroupFragmentDoc,
    "\n  query RunDetail($id: ID!, $first: Int) {\n    eventCursor\n    dag(id: $id) {\n      ...DagRow\n      jobGroups {\n        ...Group\n      }\n      jobPage(first: $first) {\n        totalCount\n        edges {\n          node {\n            ...GraphJob\n          }\n        }\n      }\n    }\n  }\n": types.RunDetailDocument,
    "\n  query GroupJobs($id: ID!, $level: Int!, $executor: String!, $first: Int, $after: String) {\n    dag(id: $id) {\n      id\n      jobPage(level: $level, executor: $executor, first: $first, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...GraphJob\n          }\n        }\n      }\n    }\n  }\n": types.GroupJobsDocument,
    "\n  query JobGroups($id: ID!) {\n    dag(id: $id) {\n      id\n      jobGroups {\n        ...Group\n      }\n    }\n  }\n": types.JobGroupsDocument,
    "\n  subscription JobStatus($dagId: ID!, $after: String) {\n    jobStatusChanged(dagId: $dagId, after: $after) {\n      cursor\n      taskId\n      state\n      previousState\n      tryNumber\n      progressPercent\n      error\n      job {\n        jobLevel\n        executor\n        attempts {\n          outcome\n        }\n      }\n    }\n  }\n": types.JobStatusDocument,
    "\n  query JobPanel($dagId: ID!, $taskId: String!) {\n    job(dagId: $dagId, taskId: $taskId) {\n      id\n      taskId\n      name\n      executor\n      state\n      tryNumber\n      retryLimit\n      jobLevel\n      error\n      progressPercent\n      progressMessage\n      output\n      startedAt\n      completedAt\n      attempts {\n        tryNumber\n        outcome\n        workerId\n        startedAt\n        finishedAt\n        error\n      }\n      taskState {\n        key\n        tryNumber\n        value\n        createdAt\n      }\n      materializations {\n        id\n        assetKey\n        version\n        partitionKey\n        createdAt\n        isStale\n      }\n      assetStatus {\n        expectedAssets\n        requiredAssets\n        materializedAssets\n        missingRequiredAssets\n        completionPercentage\n        isComplete\n      }\n    }\n  }\n": types.JobPanelDocument,
    "\n  mutation CancelDag($id: ID!) {\n    cancelDag(id: $id) {\n      id\n      state\n    }\n  }\n": types.CancelDagDocument,
    "\n  mutation CancelJob($dagId: ID!, $taskId: String!) {\n    cancelJob(dagId: $dagId, taskId: $taskId) {\n      taskId\n      state\n    }\n  }\n": types.CancelJobDocument,
    "\n  mutation RetryJob($dagId: ID!, $taskId: String!) {\n    retryJob(dagId: $dagId, taskId: $taskId) {\n      taskId\n      state\n      tryNumber\n    }\n  }\n": types.RetryJobDocument,
    "\n  query Fleet {\n    workers {\n      id\n      hostname\n      executors\n      concurrency\n      activeJobs\n      healthy\n      lastSeenAt\n      gpus {\n        index\n        name\n        memoryTotalMiB\n        memoryUsedMiB\n        utilizationPercent\n      }\n    }\n    queues {\n      executor\n      waiting\n      active\n      delayed\n      failed\n      completed\n      throttled\n      workers\n    }\n    quota {\n      weight\n      maxActiveJobs\n      maxActiveJobsPerExecutor\n      rateLimits {\n        executor\n        jobs\n        perSeconds\n      }\n      activeJobs\n      throttled {\n        cause\n        executor\n        concurrencyKey\n        jobs\n      }\n    }\n  }\n": types.FleetDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment Mat on Materialization {\n    id\n    version\n    partitionKey\n    dagId\n    nodeTaskId\n    createdAt\n    sizeBytes\n    codeFingerprint\n    isStale\n    staleReasons {\n      cause\n      assetKey\n      usedVersion\n      latestVersion\n    }\n  }\n"): typeof import('./graphql').MatFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Assets($search: String, $namespace: String, $kind: String, $first: Int, $after: String) {\n    assets(search: $search, namespace: $namespace, kind: $kind, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        endCursor\n        hasNextPage\n      }\n      edges {\n        node {\n          key\n          namespace\n          kind\n          updatedAt\n          latest {\n            version\n            createdAt\n            isStale\n          }\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').AssetsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AssetPage($key: String!, $first: Int, $after: String) {\n    asset(key: $key) {\n      key\n      namespace\n      kind\n      description\n      tags\n      createdAt\n      updatedAt\n      latest {\n        ...Mat\n      }\n      partitions(first: 100) {\n        totalCount\n        edges {\n          node {\n            key\n            latest {\n              ...Mat\n            }\n          }\n        }\n      }\n      materializations(first: $first, after: $after) {\n        totalCount\n        pageInfo {\n          endCursor\n          hasNextPage\n        }\n        edges {\n          node {\n            ...Mat\n          }\n        }\n      }\n      upstream {\n        key\n        kind\n      }\n      downstream {\n        key\n        kind\n      }\n    }\n    impact(assetKey: $key) {\n      downstreamCount\n      downstreamAssets\n      affectedMaterializations\n      recentJobCount\n      recentDagCount\n    }\n  }\n"): typeof import('./graphql').AssetPageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Lineage($key: String!, $depth: Int, $direction: LineageDirection, $first: Int, $after: String) {\n    lineage(assetKey: $key, depth: $depth, direction: $direction, first: $first, after: $after) {\n      assetKey\n      truncated\n      totalNodes\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        assetKey\n        distance\n        asset {\n          key\n          kind\n          latest {\n            version\n            isStale\n          }\n          upstream {\n            key\n          }\n          downstream {\n            key\n          }\n        }\n      }\n      edges {\n        fromAssetKey\n        toAssetKey\n      }\n    }\n  }\n"): typeof import('./graphql').LineageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      keyName\n      tenant\n      role\n      allowed\n    }\n  }\n"): typeof import('./graphql').MeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment DagRow on Dag {\n    id\n    name\n    state\n    slaStatus\n    softSla\n    hardSla\n    createdAt\n    startedAt\n    completedAt\n    submittedBy\n    progress {\n      total\n      completed\n      failed\n      active\n      pending\n      skipped\n      percent\n    }\n  }\n"): typeof import('./graphql').DagRowFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Runs(\n    $state: DagState\n    $name: String\n    $createdAfter: DateTime\n    $createdBefore: DateTime\n    $first: Int\n    $after: String\n  ) {\n    eventCursor\n    dags(\n      state: $state\n      name: $name\n      createdAfter: $createdAfter\n      createdBefore: $createdBefore\n      first: $first\n      after: $after\n    ) {\n      totalCount\n      pageInfo {\n        endCursor\n        hasNextPage\n      }\n      edges {\n        node {\n          ...DagRow\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').RunsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription DagStatus($after: String, $dagId: ID) {\n    dagStatusChanged(after: $after, dagId: $dagId) {\n      cursor\n      dagId\n      state\n      progress {\n        total\n        completed\n        failed\n        active\n        pending\n        skipped\n        percent\n      }\n      dag {\n        ...DagRow\n      }\n    }\n  }\n"): typeof import('./graphql').DagStatusDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment GraphJob on Job {\n    taskId\n    executor\n    jobLevel\n    state\n    tryNumber\n    progressPercent\n    dependencies {\n      taskId\n    }\n    attempts {\n      outcome\n    }\n  }\n"): typeof import('./graphql').GraphJobFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment Group on JobGroup {\n    level\n    executor\n    progress {\n      total\n      completed\n      failed\n      active\n      pending\n      skipped\n      cached\n      percent\n    }\n  }\n"): typeof import('./graphql').GroupFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RunDetail($id: ID!, $first: Int) {\n    eventCursor\n    dag(id: $id) {\n      ...DagRow\n      jobGroups {\n        ...Group\n      }\n      jobPage(first: $first) {\n        totalCount\n        edges {\n          node {\n            ...GraphJob\n          }\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').RunDetailDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GroupJobs($id: ID!, $level: Int!, $executor: String!, $first: Int, $after: String) {\n    dag(id: $id) {\n      id\n      jobPage(level: $level, executor: $executor, first: $first, after: $after) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...GraphJob\n          }\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').GroupJobsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query JobGroups($id: ID!) {\n    dag(id: $id) {\n      id\n      jobGroups {\n        ...Group\n      }\n    }\n  }\n"): typeof import('./graphql').JobGroupsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription JobStatus($dagId: ID!, $after: String) {\n    jobStatusChanged(dagId: $dagId, after: $after) {\n      cursor\n      taskId\n      state\n      previousState\n      tryNumber\n      progressPercent\n      error\n      job {\n        jobLevel\n        executor\n        attempts {\n          outcome\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').JobStatusDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query JobPanel($dagId: ID!, $taskId: String!) {\n    job(dagId: $dagId, taskId: $taskId) {\n      id\n      taskId\n      name\n      executor\n      state\n      tryNumber\n      retryLimit\n      jobLevel\n      error\n      progressPercent\n      progressMessage\n      output\n      startedAt\n      completedAt\n      attempts {\n        tryNumber\n        outcome\n        workerId\n        startedAt\n        finishedAt\n        error\n      }\n      taskState {\n        key\n        tryNumber\n        value\n        createdAt\n      }\n      materializations {\n        id\n        assetKey\n        version\n        partitionKey\n        createdAt\n        isStale\n      }\n      assetStatus {\n        expectedAssets\n        requiredAssets\n        materializedAssets\n        missingRequiredAssets\n        completionPercentage\n        isComplete\n      }\n    }\n  }\n"): typeof import('./graphql').JobPanelDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelDag($id: ID!) {\n    cancelDag(id: $id) {\n      id\n      state\n    }\n  }\n"): typeof import('./graphql').CancelDagDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelJob($dagId: ID!, $taskId: String!) {\n    cancelJob(dagId: $dagId, taskId: $taskId) {\n      taskId\n      state\n    }\n  }\n"): typeof import('./graphql').CancelJobDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RetryJob($dagId: ID!, $taskId: String!) {\n    retryJob(dagId: $dagId, taskId: $taskId) {\n      taskId\n      state\n      tryNumber\n    }\n  }\n"): typeof import('./graphql').RetryJobDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Fleet {\n    workers {\n      id\n      hostname\n      executors\n      concurrency\n      activeJobs\n      healthy\n      lastSeenAt\n      gpus {\n        index\n        name\n        memoryTotalMiB\n        memoryUsedMiB\n        utilizationPercent\n      }\n    }\n    queues {\n      executor\n      waiting\n      active\n      delayed\n      failed\n      completed\n      throttled\n      workers\n    }\n    quota {\n      weight\n      maxActiveJobs\n      maxActiveJobsPerExecutor\n      rateLimits {\n        executor\n        jobs\n        perSeconds\n      }\n      activeJobs\n      throttled {\n        cause\n        executor\n        concurrencyKey\n        jobs\n      }\n    }\n  }\n"): typeof import('./graphql').FleetDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
