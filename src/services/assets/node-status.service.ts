import type { DataSource, EntityManager } from 'typeorm';
import type { NodeAssetStatusView } from './asset-views';
import { appendEvents } from '../../events/event-log';
import type { JobsRepository } from '../../repositories/jobs.repository';
import type { ServiceTxHandlers } from '../tx-events';

interface StatusRow {
  dag_id: string;
  node_task_id: string;
  expected: string[] | null;
  required: string[] | null;
  materialized: string[] | null;
  known: boolean;
}

/** expected / required / materialized / missing for DAG nodes (DESIGN.md "Node asset status"). */
export function toNodeStatus(
  dagId: string,
  nodeTaskId: string,
  expected: string[],
  required: string[],
  recorded: ReadonlySet<string>,
): NodeAssetStatusView {
  const materializedAssets = expected.filter((k) => recorded.has(k));
  const missingRequiredAssets = required.filter((k) => !recorded.has(k));
  const done = required.length - missingRequiredAssets.length;
  return {
    dagId,
    nodeTaskId,
    expectedAssets: expected,
    requiredAssets: required,
    materializedAssets,
    missingRequiredAssets,
    completionPercentage: required.length === 0 ? 100 : (done / required.length) * 100,
    isComplete: missingRequiredAssets.length === 0,
  };
}

export class NodeStatusService {
  constructor(private readonly ds: DataSource) {}

  /**
   * Status of many (dag, node) pairs in one statement. `known` tells whether the node has
   * expectations or materializations at all (the `nodeStatus` query answers null otherwise).
   */
  async forPairs(
    tenantId: string,
    pairs: ReadonlyArray<{ dagId: string; nodeTaskId: string }>,
    manager?: EntityManager,
  ): Promise<Array<NodeAssetStatusView & { known: boolean }>> {
    if (!pairs.length) return [];
    const rows: Array<StatusRow & { ord: number }> = await (manager ?? this.ds.manager).query(
      `SELECT r.ord::int AS ord, r.d AS dag_id, r.n AS node_task_id,
              (SELECT array_agg(e.asset_key ORDER BY e.asset_key) FROM node_asset_expectations e
                WHERE e.tenant_id = $1 AND e.dag_id = r.d AND e.node_task_id = r.n) AS expected,
              (SELECT array_agg(e.asset_key ORDER BY e.asset_key) FROM node_asset_expectations e
                WHERE e.tenant_id = $1 AND e.dag_id = r.d AND e.node_task_id = r.n AND e.is_required) AS required,
              (SELECT array_agg(DISTINCT m.asset_key) FROM materializations m
                WHERE m.tenant_id = $1 AND m.dag_id = r.d AND m.node_task_id = r.n) AS materialized
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS r(d, n, ord)
        ORDER BY r.ord`,
      [tenantId, pairs.map((p) => p.dagId), pairs.map((p) => p.nodeTaskId)],
    );
    return rows.map((r) => ({
      ...toNodeStatus(r.dag_id, r.node_task_id, r.expected ?? [], r.required ?? [], new Set(r.materialized ?? [])),
      known: !!(r.expected?.length || r.materialized?.length),
    }));
  }

  /**
   * With nodeTaskIds: one status per listed node (a node with no expectations is complete).
   * Without: every node of that DAG (its jobs, when it is one of ours) and every node that
   * has expectations or materializations in it.
   */
  async forNodes(
    tenantId: string,
    dagId: string,
    nodeTaskIds?: string[],
    manager?: EntityManager,
  ): Promise<NodeAssetStatusView[]> {
    let nodes = nodeTaskIds;
    if (!nodes) {
      const rows: Array<{ n: string }> = await (manager ?? this.ds.manager).query(
        `SELECT node_task_id AS n FROM node_asset_expectations WHERE tenant_id = $1 AND dag_id = $2
         UNION
         SELECT node_task_id FROM materializations WHERE tenant_id = $1 AND dag_id = $2 AND node_task_id IS NOT NULL
         UNION
         SELECT task_id FROM jobs WHERE tenant_id = $1 AND dag_id = $2
         ORDER BY 1`,
        [tenantId, dagId],
      );
      nodes = rows.map((r) => r.n);
    }
    const statuses = await this.forPairs(
      tenantId,
      nodes.map((nodeTaskId) => ({ dagId, nodeTaskId })),
      manager,
    );
    return statuses.map(({ known: _known, ...s }) => s);
  }

  async incompleteNodes(
    tenantId: string,
    dagId: string,
    nodeTaskIds?: string[],
    manager?: EntityManager,
  ): Promise<NodeAssetStatusView[]> {
    return (await this.forNodes(tenantId, dagId, nodeTaskIds, manager)).filter((s) => !s.isComplete);
  }

  /** The `nodeStatus` query: null when the node is no job of ours and has neither expectations nor materializations. */
  async one(tenantId: string, dagId: string, nodeTaskId: string): Promise<NodeAssetStatusView | null> {
    const [s] = await this.forPairs(tenantId, [{ dagId, nodeTaskId }]);
    if (!s) return null;
    if (!s.known) {
      const job: unknown[] = await this.ds.query(
        `SELECT 1 FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND task_id = $3`,
        [tenantId, dagId, nodeTaskId],
      );
      if (job.length === 0) return null;
    }
    const { known: _known, ...status } = s;
    return status;
  }
}

/**
 * At a DAG's end (COMPLETED or FAILED, in its transaction): its completed nodes whose
 * required assets were not all recorded are reported in one ASSETS_INCOMPLETE event.
 */
export function registerAssetsIncompleteCheck(
  handlers: ServiceTxHandlers,
  nodeStatus: NodeStatusService,
  jobs: JobsRepository,
): void {
  handlers.on('dag.finished', async (m, { tenantId, dagId }) => {
    const done = await jobs.completedTaskIds(m, tenantId, dagId);
    if (done.length === 0) return;
    const incomplete = await nodeStatus.incompleteNodes(tenantId, dagId, done, m);
    if (incomplete.length === 0) return;
    await appendEvents(m, tenantId, [
      {
        type: 'ASSETS_INCOMPLETE',
        dagId,
        payload: { dagId, incompleteNodes: incomplete, at: new Date().toISOString() },
      },
    ]);
  });
}
