import { graphql } from './generated';

// Every operation of the dashboard, typed by codegen's client preset (`npm run codegen`).

export const MeDoc = graphql(`
  query Me {
    me {
      keyName
      tenant
      role
      allowed
    }
  }
`);

export const DagRowFields = graphql(`
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
`);

export const RunsDoc = graphql(`
  query Runs(
    $state: DagState
    $name: String
    $createdAfter: DateTime
    $createdBefore: DateTime
    $first: Int
    $after: String
  ) {
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
`);

export const DagStatusDoc = graphql(`
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
`);

export const GraphJobFields = graphql(`
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
`);

export const GroupFields = graphql(`
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
`);

/** A run: its groups (bounded by levels × executors) and the first 300 jobs, all of a small DAG. */
export const RunDetailDoc = graphql(`
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
`);

/** One (level, executor) group's jobs, a page at a time: a group opened in a big DAG. */
export const GroupJobsDoc = graphql(`
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
`);

export const JobGroupsDoc = graphql(`
  query JobGroups($id: ID!) {
    dag(id: $id) {
      id
      jobGroups {
        ...Group
      }
    }
  }
`);

export const JobStatusDoc = graphql(`
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
`);

export const JobPanelDoc = graphql(`
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
`);

export const CancelDagDoc = graphql(`
  mutation CancelDag($id: ID!) {
    cancelDag(id: $id) {
      id
      state
    }
  }
`);

export const CancelJobDoc = graphql(`
  mutation CancelJob($dagId: ID!, $taskId: String!) {
    cancelJob(dagId: $dagId, taskId: $taskId) {
      taskId
      state
    }
  }
`);

export const RetryJobDoc = graphql(`
  mutation RetryJob($dagId: ID!, $taskId: String!) {
    retryJob(dagId: $dagId, taskId: $taskId) {
      taskId
      state
      tryNumber
    }
  }
`);

export const FleetDoc = graphql(`
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
`);
