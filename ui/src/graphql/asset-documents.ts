import { graphql } from './generated';

// The asset catalog's operations: search, an asset's page, the lineage explorer.

export const MatFields = graphql(`
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
`);

export const AssetsDoc = graphql(`
  query Assets($search: String, $namespace: String, $kind: String, $first: Int, $after: String) {
    assets(search: $search, namespace: $namespace, kind: $kind, first: $first, after: $after) {
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
`);

export const AssetPageDoc = graphql(`
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
`);

export const LineageDoc = graphql(`
  query Lineage($key: String!, $depth: Int, $direction: LineageDirection, $first: Int, $after: String) {
    lineage(assetKey: $key, depth: $depth, direction: $direction, first: $first, after: $after) {
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
`);
