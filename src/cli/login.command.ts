import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { clientEnv } from '../config/config';
import { CliError, credentialsPath, DEFAULT_URL, gql, graphqlUrl } from './client';
import { isJson, printJson, println, withJson } from './output';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** Ask on the terminal; without one, the key may come on stdin (`echo $KEY | marie login --url …`). */
async function ask(o: { url?: string; key?: string }): Promise<{ url: string; key: string }> {
  const env = clientEnv();
  let url = o.url ?? env.url;
  let key = o.key;
  if (process.stdin.isTTY && (!url || !key)) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      url ||= (await rl.question(`Server URL [${DEFAULT_URL}]: `)).trim() || DEFAULT_URL;
      key ||= (await rl.question('API key: ')).trim();
    } finally {
      rl.close();
    }
  }
  if (!key && !process.stdin.isTTY) key = await readStdin();
  if (!key) throw new CliError('no API key given (--key, or on stdin)');
  return { url: graphqlUrl(url || DEFAULT_URL), key };
}

export function registerLoginCommands(program: Command): void {
  withJson(
    program
      .command('login')
      .description(
        'Check a server URL and API key and keep them for the other commands ($XDG_CONFIG_HOME/marie or ~/.config/marie, mode 0600); MARIE_URL and MARIE_KEY still win',
      )
      .option('--url <url>', `the server (default ${DEFAULT_URL})`)
      .option('--key <key>', 'the API key (else asked, or read from stdin)'),
  ).action(async (o: { url?: string; key?: string }, cmd: Command) => {
    const server = await ask(o);
    // Any role may read the cursor: this proves the URL answers and the key is valid.
    await gql<{ eventCursor: string }>(server, '{ eventCursor }');
    const file = credentialsPath();
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, `${JSON.stringify(server, null, 2)}\n`, { mode: 0o600 });
    await chmod(file, 0o600); // an existing file keeps its old mode on write
    if (isJson(cmd)) return printJson({ url: server.url, file });
    println(`logged in to ${server.url}; saved in ${file}`);
  });

  withJson(program.command('logout').description('Forget what marie login stored')).action(
    async (_o: unknown, cmd: Command) => {
      const file = credentialsPath();
      await rm(file, { force: true });
      if (isJson(cmd)) return printJson({ file, removed: true });
      println(`removed ${file}`);
    },
  );
}
