import type express from 'express';
import { DomainError } from '../errors/domain-error';
import { textProblem } from '../schema/scalars/input-text';
import type { Services } from '../services/process-services';
import { sendRestError } from './rest-errors';
import { assertAllowed, type Action, type Principal } from '../core/policy';
import { bearer } from './auth';
import { installOpenLineageRoutes } from './openlineage-routes';

/** Authenticate a REST call with the same keys and the same policy module as GraphQL. */
async function principalFor(services: Services, req: express.Request, action: Action): Promise<Principal> {
  const principal = await services.apiKeys.authenticate(bearer(req.headers.authorization));
  return assertAllowed(principal, action);
}

/**
 * The seed's monitoring calls for tools that poll: GET /api/jobs?dag_id=…, and its health
 * routes: GET /api/executors/:name/status (answered by a live worker hosting the executor,
 * over Redis, without a model call; 503 `{ status: 'unavailable' }` when none answers in
 * time, 503 with the reply when the only answers are unhealthy) and GET /api/deployment-status.
 */
export function installRestRoutes(app: express.Express, services: Services): void {
  installOpenLineageRoutes(app, services);
  app.get('/api/executors/:name/status', async (req, res) => {
    try {
      await principalFor(services, req, 'read');
      const name = req.params.name;
      const reply = await services.deployment.executorStatus(name);
      if (!reply) {
        res.status(503).json({ executor: name, status: 'unavailable', error: 'no live worker hosts this executor' });
        return;
      }
      res.status(reply.status === 'ok' ? 200 : 503).json(reply);
    } catch (err) {
      sendRestError(res, err, services.log, 'rest route failed');
    }
  });

  app.get('/api/deployment-status', async (req, res) => {
    try {
      await principalFor(services, req, 'read');
      res.json(await services.deployment.deploymentStatus());
    } catch (err) {
      sendRestError(res, err, services.log, 'rest route failed');
    }
  });

  app.get('/api/jobs', async (req, res) => {
    try {
      const principal = await principalFor(services, req, 'read');
      const dagId = typeof req.query.dag_id === 'string' ? req.query.dag_id : null;
      if (!dagId) throw new DomainError('BAD_USER_INPUT', 'dag_id is required', { field: 'dag_id' });
      const problem = textProblem(dagId);
      if (problem) throw new DomainError('BAD_USER_INPUT', `dag_id ${problem}`, { field: 'dag_id' });
      const dag = await services.dags.getOrFail(principal.tenantId, dagId);
      const jobs = await services.dags.jobsOfDags(principal.tenantId, [dagId]);
      res.json({
        dag_id: dag.id,
        dag_name: dag.name,
        dag_state: dag.state,
        jobs: jobs.map((j) => ({
          id: j.id,
          task_id: j.task_id,
          name: j.name,
          executor: j.executor,
          state: j.state,
          priority: j.priority,
          job_level: j.job_level,
          try_number: j.try_number,
          retry_limit: j.retry_limit,
          start_after: j.start_after,
          created_at: j.created_at,
          started_at: j.started_at,
          completed_at: j.completed_at,
          error: j.error,
          progress_percent: j.progress_percent,
        })),
      });
    } catch (err) {
      sendRestError(res, err, services.log, 'rest route failed');
    }
  });
}
