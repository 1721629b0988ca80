import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { GraphQLSchema } from 'graphql';
import { buildAppSchema } from './build-schema';
import { installRestRoutes } from './routes';
import { graphqlBodyParser, installGraphqlRoute, startApollo } from './apollo';
import { operationExecutor } from './compiled-execution';
import { graphqlFastPath, requestIdOf } from './graphql-fast-path';
import { installHealthRoutes } from './health';
import { installStaticUi } from './static-ui';
import { startWsEndpoint } from './ws';
import { validationRules, type Limits } from './limits';
import type { Metrics } from './metrics';
import type { Services } from '../services/process-services';

export interface ApiServer {
  server: http.Server;
  port: number;
  /** Stop accepting, drain HTTP, close WebSockets. */
  stop(): Promise<void>;
}

/** Extra HTTP routes (REST monitoring, executor status…) mounted beside /graphql. */
export type RouteInstaller = (app: express.Express, services: Services) => void;

/**
 * The api role's edge, assembled: GraphQL over WebSocket (ws.ts) and over HTTP
 * (apollo.ts), probes (health.ts), REST routes (routes.ts), one key parser (auth.ts).
 */
export async function startApiServer(
  services: Services,
  metrics: Metrics,
  opts: { port: number; host: string; routes?: RouteInstaller[] },
): Promise<ApiServer> {
  const { config, log } = services;
  const schema: GraphQLSchema = buildAppSchema();
  const limits: Limits = config.graphql;
  const rules = validationRules(limits);
  const app = express();
  app.disable('x-powered-by');
  const run = operationExecutor(schema);
  // POST /graphql: the plain queries straight from node:http (graphql-fast-path.ts), the
  // rest through Express and Apollo. A body the parser refused goes to Express's error
  // handler (below) with the parser's error, as when Express read it.
  const fast = graphqlFastPath({ schema, rules, limits, services, metrics, run });
  const parseBody = graphqlBodyParser(services);
  const bodyErrors = new WeakMap<http.IncomingMessage, unknown>();
  const httpServer = http.createServer((req, res) => {
    if (!fast.takes(req)) return void app(req, res);
    parseBody(req as Request, res as Response, (err?: unknown) => {
      if (err) bodyErrors.set(req, err);
      if (err) return void app(req, res);
      fast.answer(req, res, () => void app(req, res));
    });
  });

  const ws = await startWsEndpoint(httpServer, services, metrics, schema, rules, limits);
  const apollo = await startApollo(httpServer, services, metrics, schema, rules, limits, run, () => ws.dispose());

  app.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    next(bodyErrors.get(req));
  });

  installHealthRoutes(app, services, metrics);
  installRestRoutes(app, services);
  for (const install of opts.routes ?? []) install(app, services);
  installStaticUi(app, config);
  installGraphqlRoute(app, apollo, services);

  // Body too large, malformed JSON and the like: a coded error, not an HTML page.
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = err.status ?? 500;
    if (status >= 500) log.error({ err, requestId: res.locals.requestId }, 'http error');
    res.status(status).json({
      errors: [
        {
          message: status >= 500 ? 'Internal server error' : err.message,
          extensions: {
            code: status === 413 ? 'PAYLOAD_TOO_LARGE' : status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST',
            requestId: res.locals.requestId,
          },
        },
      ],
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  log.info({ port }, `GraphQL at http://localhost:${port}/graphql`);

  return {
    server: httpServer,
    port,
    stop: async () => {
      await apollo.stop();
    },
  };
}
