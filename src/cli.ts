import 'reflect-metadata';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './cli/admin.command';
import { CliError } from './cli/client';
import { registerDagCommands } from './cli/dag.command';
import { registerFleetCommands } from './cli/fleet.command';
import { registerLoginCommands } from './cli/login.command';
import { DomainError } from './errors/domain-error';

/** The version in package.json (found from src/ and from dist/src/ alike). */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}

export function buildCli(): Command {
  const program = new Command()
    .name('marie')
    .description('Marie control plane command line. Client commands use MARIE_URL and MARIE_KEY, or marie login.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerLoginCommands(program);
  registerDagCommands(program);
  registerFleetCommands(program);
  registerAdminCommands(program);
  // Every command (subcommands too) throws instead of exiting, so run() sets the exit code.
  const override = (c: Command) => {
    for (const sub of c.commands) {
      sub.exitOverride();
      override(sub);
    }
  };
  override(program);
  return program;
}

/** One line for stderr: a coded error as `CODE: message`, anything else by its message. */
function describe(err: unknown): string {
  if (err instanceof DomainError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Run the CLI; every failure is one line on stderr and a non-zero exit code. */
export async function run(argv = process.argv): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed its message (or the help / version) already.
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`marie: ${describe(err)}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  }
}

if (require.main === module) void run();
