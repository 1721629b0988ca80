import os from 'node:os';
import { writeFile } from 'node:fs/promises';
import type { Pool } from 'pg';
import { createBenchEnv, type Size } from './lib/env';
import type { Scenario, ScenarioResult } from './lib/scenario';
import { fmt } from './lib/stats';
import { cache } from './scenarios/cache';
import { stepLatency } from './scenarios/dags';
import { throughput } from './scenarios/throughput';
import { dashboard } from './scenarios/dashboard';
import { fairShare } from './scenarios/fair-share';
import { fanout } from './scenarios/fanout';
import { ingest } from './scenarios/ingest';
import { lineage } from './scenarios/lineage';
import { openlineage } from './scenarios/openlineage';
import { progressCounts } from './scenarios/progress-counts';
import { read } from './scenarios/read';
import { remoteStep } from './scenarios/remote-step';
import { scaling } from './scenarios/scaling';
import { taskState } from './scenarios/task-state';

export const SCENARIOS: readonly Scenario[] = [
  ingest,
  lineage,
  stepLatency,
  remoteStep,
  throughput,
  progressCounts,
  scaling,
  read,
  fanout,
  taskState,
  dashboard,
  openlineage,
  cache,
  fairShare,
];

export interface RunBenchOptions {
  size: Size;
  /** Scenario names; all when empty. */
  only?: string[];
  serverUrl: string;
  redisUrl: string;
  /** Where to write the report; none when null. */
  out: string | null;
  /** The command line shown in the report. */
  command: string;
  /** A line about the machine (e.g. that it was shared). */
  note?: string;
  log?: (line: string) => void;
}

export interface BenchOutcome {
  results: Array<{ scenario: Scenario; result: ScenarioResult | null; error: string | null; seconds: number }>;
  markdown: string;
}

async function machine(env: { pg: Pool }, redisVersion: string) {
  const cpus = os.cpus();
  const pgVersion = (await env.pg.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version;
  return [
    `- CPU: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length} (load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')})`,
    `- Memory: ${fmt(os.totalmem() / 2 ** 30)} GiB; ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node ${process.version}; PostgreSQL ${pgVersion}; Redis ${redisVersion} (all on this machine)`,
  ];
}

export async function runBench(opts: RunBenchOptions): Promise<BenchOutcome> {
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const wanted = opts.only?.length ? opts.only : SCENARIOS.map((s) => s.name);
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.name === w));
  if (unknown.length) {
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  const env = await createBenchEnv({ size: opts.size, serverUrl: opts.serverUrl, redisUrl: opts.redisUrl });
  const started = Date.now();
  const results: BenchOutcome['results'] = [];
  let header: string[] = [];
  try {
    const r = env.redis();
    const info = await r.info('server');
    r.disconnect();
    header = await machine(env, /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown');
    for (const s of SCENARIOS.filter((x) => wanted.includes(x.name))) {
      log(`▶ ${s.name}`);
      const t0 = Date.now();
      try {
        const result = await s.run(env);
        results.push({ scenario: s, result, error: null, seconds: (Date.now() - t0) / 1000 });
        for (const row of result.rows) {
          log(`  ${row.metric}: ours ${row.ours} | baseline ${row.baseline} | ${row.ratio} ${row.verdict}`);
        }
        for (const n of result.notes) log(`  · ${n}`);
      } catch (err) {
        const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
        results.push({ scenario: s, result: null, error, seconds: (Date.now() - t0) / 1000 });
        log(`  FAILED: ${error}`);
      }
    }
  } finally {
    await env.close();
  }
  const markdown = report(opts, header, results, (Date.now() - started) / 1000);
  if (opts.out) await writeFile(opts.out, markdown);
  return { results, markdown };
}

const cell = (s: string) => s.replace(/\|/g, '\\|');
const VERDICT = { met: '✅ met', missed: '❌ missed', info: '', skipped: '⏭ skipped' } as const;

function report(opts: RunBenchOptions, header: string[], results: BenchOutcome['results'], seconds: number): string {
  const out: string[] = [
    '# Benchmarks',
    '',
    `Written by \`${opts.command}\` (${opts.size} run, ${fmt(seconds, 0)} s in all) on ${new Date().toISOString()}.`,
    'Each scenario runs against this project and against a raw baseline in the same run, on the same Postgres and Redis;',
    'the benchmarks build their own database and BullMQ prefix and remove them at the end. Ratios are ours ÷ baseline',
    '(for latencies lower is better, for rates higher is better).',
    '',
    '## Machine',
    '',
    ...header,
    ...(opts.note ? [`- ${opts.note}`] : []),
    '',
    '## Summary',
    '',
    '| scenario | metric | ours | raw baseline | ratio | target | verdict |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const { scenario, result, error } of results) {
    if (!result) {
      out.push(`| ${scenario.name} | — | failed: ${cell((error ?? '').split('\n')[0] ?? '')} | | | | ❌ failed |`);
      continue;
    }
    for (const r of result.rows) {
      out.push(
        `| ${scenario.name} | ${cell(r.metric)} | ${cell(r.ours)} | ${cell(r.baseline)} | ${r.ratio} | ${cell(r.target)} | ${VERDICT[r.verdict]} |`,
      );
    }
  }
  out.push('', '## Scenarios', '');
  for (const { scenario, result, error, seconds: s } of results) {
    out.push(`### ${scenario.name}`, '', `- Ours: ${scenario.ours}.`, `- Raw baseline: ${scenario.baseline}.`);
    out.push(`- Anchor: ${scenario.anchor}.`, `- Took ${fmt(s)} s.`);
    if (error) out.push('', '```', error.split('\n').slice(0, 6).join('\n'), '```');
    for (const n of result?.notes ?? []) out.push(`- ${n}`);
    if (scenario.whenMissed && result?.rows.some((r) => r.verdict === 'missed')) {
      out.push('', `**Target missed.** ${scenario.whenMissed}`);
    }
    out.push('');
  }
  return out.join('\n');
}
