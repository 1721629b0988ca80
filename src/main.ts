import 'reflect-metadata';
import { Command, Option } from 'commander';
import { ALL_ROLES, startApp, type Role } from './app';
import { ConfigError, loadConfig } from './config/config';
import { RedisUnavailableError } from './server/redis';
import { createLogger } from './server/logger';

/** Entry point: `node dist/src/main.js --role api|worker|scheduler|all`. */
export async function main(argv = process.argv): Promise<void> {
  const program = new Command()
    .name('marie-server')
    .addOption(
      new Option('--role <role>', 'which role to run').choices(['api', 'worker', 'scheduler', 'all']).default('all'),
    )
    .parse(argv);
  const role = program.opts<{ role: string }>().role;
  const roles: readonly Role[] = role === 'all' ? ALL_ROLES : [role as Role];

  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let app;
  try {
    app = await startApp({ config, log, roles });
  } catch (err) {
    if (err instanceof RedisUnavailableError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    log.fatal({ err }, 'failed to start');
    process.exit(1);
  }
  log.info({ roles }, 'started');
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    app
      .stop()
      .then(() => {
        log.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) void main();
