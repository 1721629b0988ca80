import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { AdminHandle } from '../app/admin';
import { loadConfig } from '../config/config';
import type { RoleName } from '../core/policy';
import { API_KEY_REVOKED } from '../core/bus-channels';
import { DEFAULT_PYTHON_PORT, scaffoldExecutor } from '../sdk/executor-scaffold';
import { isJson, printJson, withJson } from './output';

// The database, the app and Redis load when a command runs, not when the CLI starts: `--help`,
// `--version` and the client commands answer without them (about 1.3 s of module loading).
async function withDatabase<T>(fn: (admin: AdminHandle) => Promise<T>, migrate?: boolean): Promise<T> {
  return (await import('../app/admin.js')).withDatabase(fn, migrate);
}

/** The commands that work on the database directly (keys, migrations) and the worker role. */
export function registerAdminCommands(program: Command): void {
  const apikey = program.command('apikey').description('Manage API keys');
  withJson(
    apikey
      .command('create')
      .description('Create a key; it is printed once, alone on the last line')
      .requiredOption('--tenant <slug>', 'tenant (created when new)')
      .addOption(
        new Option('--role <role>', 'role').choices(['reader', 'submitter', 'executor', 'admin']).makeOptionMandatory(),
      )
      .option('--name <name>', 'a name to tell keys apart', 'cli'),
  ).action(async (o: { tenant: string; role: RoleName; name: string }, cmd: Command) => {
    await withDatabase(async (admin) => {
      const svc = admin.apiKeys();
      const tenant = await svc.ensureTenant(o.tenant);
      const { apiKey, key } = await svc.create(tenant.id, o.name, o.role);
      if (isJson(cmd))
        return printJson({ id: apiKey.id, name: apiKey.name, role: apiKey.role, tenant: tenant.slug, key });
      process.stdout.write(
        `Created ${apiKey.role} key "${apiKey.name}" (id ${apiKey.id}) for tenant ${tenant.slug}.\n`,
      );
      process.stdout.write(`Store it now; it is not shown again:\n${key}\n`);
    });
  });
  withJson(
    apikey.command('list').description("List a tenant's keys").requiredOption('--tenant <slug>', 'tenant'),
  ).action(async (o: { tenant: string }, cmd: Command) => {
    await withDatabase(async (admin) => {
      const keys = await admin.apiKeys().listBySlug(o.tenant);
      if (isJson(cmd))
        return printJson(
          keys.map((k) => ({ id: k.id, role: k.role, name: k.name, keyPrefix: k.keyPrefix, revokedAt: k.revokedAt })),
        );
      for (const k of keys) {
        const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
        process.stdout.write(`${k.id}\t${k.role}\t${k.name}\t${k.keyPrefix}…\t${state}\n`);
      }
    });
  });
  withJson(apikey.command('revoke <id>').description('Revoke a key by id')).action(
    async (id: string, _o: unknown, cmd: Command) => {
      const config = loadConfig();
      // Running servers drop the key from their caches and close its sockets at once.
      const { createRedis, publishOn } = await import('../lib/redis.js');
      const redis = createRedis(config.redis, { lazyConnect: false, maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      try {
        await withDatabase(async (admin) => {
          const notify = {
            keyRevoked: (keyId: string) =>
              publishOn(redis, `${config.queuePrefix}:${API_KEY_REVOKED}`, keyId).catch((err: unknown) => {
                process.stderr.write(
                  `warning: the running servers were not told (${String(err)}); they close the key's open sockets at their next key check (AUTH_CACHE_MS)\n`,
                );
              }),
          };
          const k = await admin.apiKeys(notify).revoke(null, id);
          if (isJson(cmd)) return printJson({ id: k.id, name: k.name, revokedAt: k.revokedAt });
          process.stdout.write(`Revoked ${k.id} (${k.name}).\n`);
        });
      } finally {
        redis.disconnect();
      }
    },
  );

  const migration = program.command('migration').description('Database migrations');
  withJson(migration.command('run').description('Apply pending migrations')).action(
    async (_o: unknown, cmd: Command) => {
      await withDatabase(async (admin) => {
        const done = await admin.ds.runMigrations({ transaction: 'each' });
        if (isJson(cmd)) return printJson({ applied: done.map((m) => m.name) });
        process.stdout.write(done.length ? done.map((m) => `applied ${m.name}\n`).join('') : 'nothing to apply\n');
      }, false);
    },
  );
  withJson(migration.command('revert').description('Revert the latest migration')).action(
    async (_o: unknown, cmd: Command) => {
      await withDatabase(async (admin) => {
        await admin.ds.undoLastMigration({ transaction: 'each' });
        if (isJson(cmd)) return printJson({ reverted: true });
        process.stdout.write('reverted the latest migration\n');
      }, false);
    },
  );
  withJson(
    migration
      .command('generate <name>')
      .description('Write a migration with the SQL that brings the database to the entities'),
  ).action(async (name: string, _o: unknown, cmd: Command) => {
    await withDatabase(async (admin) => {
      const diff = await admin.ds.driver.createSchemaBuilder().log();
      if (diff.upQueries.length === 0) {
        if (isJson(cmd)) return printJson({ file: null });
        process.stdout.write('the database matches the entities: nothing to generate\n');
        return;
      }
      const ts = Date.now();
      const cls = `${name.replace(/[^A-Za-z0-9]/g, '')}${ts}`;
      const q = (list: typeof diff.upQueries) =>
        list.map((x) => `    await q.query(${JSON.stringify(x.query)});`).join('\n');
      const body = `import type { MigrationInterface, QueryRunner } from 'typeorm';\n\nexport class ${cls} implements MigrationInterface {\n  name = '${cls}';\n\n  async up(q: QueryRunner): Promise<void> {\n${q(diff.upQueries)}\n  }\n\n  async down(q: QueryRunner): Promise<void> {\n${q([...diff.downQueries].reverse())}\n  }\n}\n`;
      const file = path.resolve('migrations', `${ts}-${name.replace(/[^A-Za-z0-9-]/g, '-').toLowerCase()}.ts`);
      await writeFile(file, body);
      if (isJson(cmd)) return printJson({ file });
      process.stdout.write(`wrote ${file}; add it to migrations/index.ts\n`);
    });
  });

  program
    .command('worker')
    .description('Run a worker with the executors of a YAML file (several per worker, each with its concurrency)')
    .option('--config <file>', 'executors YAML (default: WORKER_CONFIG)')
    .action(async (o: { config?: string }) => {
      const { serve } = await import('../main.js');
      await serve(['worker'], o.config);
    });

  const executor = program.command('executor').description('Executor projects');
  withJson(
    executor
      .command('new <Name>')
      .description(
        'Write a new executor project into ./<Name>/: TypeScript (executor, config.yml, test, README), or with --python a Python one on marie_cp (executor, serve.py, unittest, config.yml with a RemoteExecutor, README)',
      )
      .option('--dir <dir>', 'folder to create it in', '.')
      .option('--python', 'a Python executor served over HTTP, for the worker a RemoteExecutor', false)
      .option('--port <port>', `port of the Python executor (default ${DEFAULT_PYTHON_PORT})`, parsePort)
      .option('--sdk <module>', 'import path of the executor SDK in the generated TypeScript files')
      .option('--force', 'write into an existing, non-empty folder', false),
  ).action(
    async (
      name: string,
      o: { dir: string; sdk?: string; force: boolean; python: boolean; port?: number },
      cmd: Command,
    ) => {
      const res = await scaffoldExecutor(name, {
        dir: o.dir,
        sdkImport: o.sdk,
        force: o.force,
        python: o.python,
        port: o.port,
      });
      if (isJson(cmd)) return printJson({ className: res.className, root: res.root, files: res.files });
      for (const f of res.files) process.stdout.write(`wrote ${path.relative(process.cwd(), f) || f}\n`);
      const where = path.relative(process.cwd(), res.root) || '.';
      process.stdout.write(
        o.python
          ? `${res.className} is ready. Test it: (cd ${where} && python3 -m unittest); serve it: python3 ${where}/serve.py\n`
          : `${res.className} is ready. Test it: (cd ${where} && npx vitest run)\n`,
      );
    },
  );
}

/** A TCP port for --port, or a usage error naming the option. */
function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
    throw new InvalidArgumentError('a whole number from 1 to 65535');
  }
  return n;
}
