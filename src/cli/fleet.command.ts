import { Option, type Command } from 'commander';
import { gql, resolveServer } from './client';
import { isJson, printJson, println, table, withJson } from './output';

const WORKERS = `{ workers { id hostname executors concurrency activeJobs lastSeenAt healthy gpus { index name } } }`;
const QUEUES = `{ queues { executor waiting active delayed failed completed } }`;
const LINEAGE = `query ($key: String!, $direction: LineageDirection, $depth: Int) {
  lineage(assetKey: $key, direction: $direction, depth: $depth) {
    assetKey direction depth truncated nodes { assetKey distance } edges { fromAssetKey toAssetKey } } }`;

interface Worker {
  id: string;
  hostname: string;
  executors: string[];
  concurrency: number;
  activeJobs: number;
  lastSeenAt: string;
  healthy: boolean;
  gpus: Array<{ index: number; name: string }>;
}

export interface LineageGraph {
  assetKey: string;
  direction: string;
  depth: number;
  truncated: boolean;
  nodes: Array<{ assetKey: string; distance: number }>;
  edges: Array<{ fromAssetKey: string; toAssetKey: string }>;
}

/** The lineage as text: each asset with its direct inputs, nearest first. */
export function lineageText(g: LineageGraph): string {
  const nodes = [...g.nodes].sort(
    (a, b) => Math.abs(a.distance) - Math.abs(b.distance) || a.assetKey.localeCompare(b.assetKey),
  );
  const lines = [`lineage of ${g.assetKey} (${g.direction.toLowerCase()}, depth ${g.depth})`];
  for (const n of nodes) {
    const inputs = g.edges.filter((e) => e.toAssetKey === n.assetKey).map((e) => e.fromAssetKey);
    const indent = '  '.repeat(Math.abs(n.distance) + 1);
    lines.push(`${indent}${n.assetKey}${inputs.length ? ` ← ${inputs.sort().join(', ')}` : ''}`);
  }
  if (g.truncated) lines.push('  … (truncated: ask for a greater --depth)');
  return lines.join('\n');
}

export function registerFleetCommands(program: Command): void {
  withJson(program.command('workers').description('The worker fleet: executors, load, GPUs, health')).action(
    async (_o: unknown, cmd: Command) => {
      const { workers } = await gql<{ workers: Worker[] }>(resolveServer(), WORKERS);
      if (isJson(cmd)) return printJson(workers);
      if (workers.length === 0) return println('no live workers');
      println(
        table(
          ['ID', 'HOST', 'EXECUTORS', 'ACTIVE', 'GPUS', 'HEALTHY', 'LAST SEEN'],
          workers.map((w) => [
            w.id,
            w.hostname,
            w.executors.join(','),
            `${w.activeJobs}/${w.concurrency}`,
            w.gpus.map((g) => g.name).join(',') || '-',
            w.healthy ? 'yes' : 'NO',
            w.lastSeenAt,
          ]),
        ),
      );
    },
  );

  withJson(program.command('queues').description('Your jobs per executor: waiting, active, delayed, failed')).action(
    async (_o: unknown, cmd: Command) => {
      const { queues } = await gql<{ queues: Array<Record<string, string | number>> }>(resolveServer(), QUEUES);
      if (isJson(cmd)) return printJson(queues);
      if (queues.length === 0) return println('no jobs yet');
      println(
        table(
          ['EXECUTOR', 'WAITING', 'ACTIVE', 'DELAYED', 'FAILED', 'COMPLETED'],
          queues.map((q) => [q.executor, q.waiting, q.active, q.delayed, q.failed, q.completed]),
        ),
      );
    },
  );

  withJson(
    program
      .command('lineage <assetKey>')
      .description('Where an asset came from (upstream) or what it feeds (downstream)')
      .addOption(
        new Option('--direction <direction>', 'which way')
          .choices(['upstream', 'downstream', 'both'])
          .default('upstream'),
      )
      .option('--depth <n>', 'hops, 1 to 50', (v) => Number.parseInt(v, 10), 10),
  ).action(async (key: string, o: { direction: string; depth: number }, cmd: Command) => {
    const { lineage } = await gql<{ lineage: LineageGraph }>(resolveServer(), LINEAGE, {
      key,
      direction: o.direction.toUpperCase(),
      depth: o.depth,
    });
    if (isJson(cmd)) return printJson(lineage);
    println(lineageText(lineage));
  });
}
