import path from 'node:path';
import { runBench } from './bench';
import type { Size } from './lib/env';

/**
 * `npm run bench` (all scenarios, full size, rewrites BENCHMARKS.md), `npm run bench -- --quick`,
 * `npm run bench -- lineage step` (only those). `--tiny` is the test's size; `--out FILE` or
 * `--no-write`. BENCH_DATABASE_URL names the Postgres server, REDIS_URL the Redis, BENCH_NOTE
 * adds a line about the machine.
 */
async function main(argv: string[]): Promise<void> {
  const size: Size = argv.includes('--tiny') ? 'tiny' : argv.includes('--quick') ? 'quick' : 'full';
  const outAt = argv.indexOf('--out');
  const out = argv.includes('--no-write')
    ? null
    : path.resolve(outAt >= 0 ? (argv[outAt + 1] ?? 'BENCHMARKS.md') : 'BENCHMARKS.md');
  const only = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--out');
  const outcome = await runBench({
    size,
    only,
    out,
    serverUrl: process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    note: process.env.BENCH_NOTE,
  });
  if (out) process.stdout.write(`wrote ${out}\n`);
  if (outcome.results.some((r) => r.error)) process.exitCode = 1;
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
