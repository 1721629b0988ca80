import { conflict } from '../errors/domain-error';
import { appendEvents } from '../events/event-log';
import type { Services } from './container';

/**
 * Where the capabilities meet, all inside the transaction of the change that triggers
 * them: submitDag stores node expectations; a recording for a node of one of our DAGs must
 * come from its current ACTIVE attempt (tryNumber or Job.id); every new materialization
 * appends an ASSET_MATERIALIZED event; a DAG's end checks its completed nodes' required
 * assets (ASSETS_INCOMPLETE).
 */
export function wireCapabilities(s: Services): void {
  s.dags.hooks.declareExpectations = async (m, tenantId, dagId, dag) => {
    const nodes = dag.jobs.filter((j) => j.assets.length).map((j) => ({ nodeTaskId: j.taskId, assets: j.assets }));
    if (nodes.length) await s.expectations.declare(m, tenantId, dagId, nodes);
  };

  s.materializations.hooks.beforeRecord = async (m, tenantId, input) => {
    if (!input.dagId || !input.nodeTaskId) return;
    const jobs: Array<{ id: string; state: string; try_number: number }> = await m.query(
      `SELECT id, state, try_number FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND task_id = $3 FOR SHARE`,
      [tenantId, input.dagId, input.nodeTaskId],
    );
    const job = jobs[0];
    if (!job) return; // not one of ours: outside systems may record assets too
    // A node of one of our DAGs: only its current ACTIVE attempt may record, named by its
    // tryNumber or by the Job.id our workers send (a recording that names neither is fenced too).
    const node = `${input.dagId}/${input.nodeTaskId}`;
    if (input.tryNumber == null && input.jobId == null) {
      throw conflict(
        `${node} is a node of a DAG of this control plane: name its current attempt (tryNumber or jobId)`,
        {
          field: 'input.tryNumber',
        },
      );
    }
    if (input.tryNumber != null && (job.state !== 'ACTIVE' || job.try_number !== input.tryNumber)) {
      throw conflict(`try ${input.tryNumber} of ${node} is not the current attempt`, { field: 'input.tryNumber' });
    }
    if (input.jobId != null && (job.state !== 'ACTIVE' || job.id !== input.jobId)) {
      throw conflict(`job ${input.jobId} is not the current attempt of ${node}`, { field: 'input.jobId' });
    }
  };

  s.materializations.hooks.afterRecord = async (m, tenantId, created) => {
    await appendEvents(
      m,
      tenantId,
      created.map((mat) => ({
        type: 'ASSET_MATERIALIZED',
        dagId: mat.dagId,
        payload: { assetKey: mat.assetKey, materializationId: mat.id, dagId: mat.dagId, at: new Date().toISOString() },
      })),
    );
  };

  s.engine.hooks.onDagFinished.push(async (m, tenantId, dagId) => {
    const done: Array<{ task_id: string }> = await m.query(
      `SELECT task_id FROM jobs WHERE tenant_id = $1 AND dag_id = $2 AND state = 'COMPLETED'`,
      [tenantId, dagId],
    );
    if (done.length === 0) return;
    const incomplete = await s.nodeStatus.incompleteNodes(
      tenantId,
      dagId,
      done.map((d) => d.task_id),
      m,
    );
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
