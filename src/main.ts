import 'reflect-metadata';
import { Command, Option } from 'commander';
import type { Logger } from 'pino';
import { ALL_ROLES, startApp, type App, type Role } from './app/app';
import { ConfigError, launchedByNpm, loadConfig, type AppConfig } from './config/config';
import { RedisUnavailableError } from './lib/redis';
import { createLogger } from './lib/logger';
import { watchStopRequests } from './app/shutdown';
import type { ExecutorInvoker } from './core/executor-call';
import { ExecutorConfigFileError } from './sdk/executor-config';
import { loadWorkerInvokers } from './app/worker-executors';

/**
 * The executors of a worker's YAML file (`--config`, else WORKER_CONFIG); none without one.
 * Outputs go to STORAGE_URL (S3 settings shared with the task-state store).
 */
export async function loadWorkerExecutors(
  config: AppConfig,
  log: Logger,
  file: string | undefined = config.workerConfig,
): Promise<ExecutorInvoker[]> {
  if (!file) return [];
  const { s3 } = config.taskState;
  const hosts = await loadWorkerInvokers(file, {
    storageUrl: config.storageUrl,
    s3: {
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      credentials:
        s3.accessKeyId && s3.secretAccessKey
          ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
          : undefined,
    },
    log,
  });
  log.info(
    { file, executors: hosts.map((h) => ({ name: h.name, concurrency: h.concurrency, gpu: h.requiresGpu })) },
    'executors loaded',
  );
  return hosts;
}

/**
 * Start the given roles (the worker with the executors of `workerConfig` or WORKER_CONFIG)
 * and stop gracefully on SIGTERM / SIGINT, in any NODE_ENV (the worker finishes or hands
 * back its jobs and closes every executor; the embedded database stops last), exiting 0.
 * A second signal exits at once; so does the parent npm going away (see shutdown.ts).
 */
export async function serve(roles: readonly Role[], workerConfig?: string): Promise<App> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, undefined, config.logFormat);
  // Before anything starts: a signal during start-up stops the process cleanly once it is up.
  const stopRequests = watchStopRequests({ log, watchParent: launchedByNpm() });
  let executors: ExecutorInvoker[] = [];
  if (roles.includes('worker')) {
    try {
      executors = await loadWorkerExecutors(config, log, workerConfig ?? config.workerConfig);
    } catch (err) {
      if (err instanceof ExecutorConfigFileError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
  }
  let app: App;
  try {
    app = await startApp({ config, log, roles, executors });
  } catch (err) {
    await Promise.allSettled(executors.map(async (e) => e.close?.()));
    if (err instanceof RedisUnavailableError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    log.fatal({ err }, 'failed to start');
    process.exit(1);
  }
  log.info({ roles }, 'started');
  void stopRequests.requested.then(async () => {
    stopRequests.dispose();
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.workerGraceMs + 30_000);
    force.unref();
    try {
      await app.stop();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  });
  return app;
}

/** Entry point: `node dist/src/main.js --role api|worker|scheduler|all` (executors from WORKER_CONFIG). */
export async function main(argv = process.argv): Promise<void> {
  const program = new Command()
    .name('marie-server')
    .addOption(
      new Option('--role <role>', 'which role to run').choices(['api', 'worker', 'scheduler', 'all']).default('all'),
    )
    .parse(argv);
  const role = program.opts<{ role: string }>().role;
  const roles: readonly Role[] = role === 'all' ? ALL_ROLES : [role as Role];
  await serve(roles);
}

if (require.main === module) void main();
