import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runBench, SCENARIOS } from '../bench/bench';
import { median, p99, quantile } from '../bench/lib/stats';

// Benchmarks are not part of `npm test`: this only proves the scripts run, on tiny inputs.
describe('bench scripts', () => {
  let dir: string | null = null;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('quantiles use the nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
    expect(median(v)).toBe(50);
    expect(p99(v)).toBe(99);
    expect(quantile([7], 0.99)).toBe(7);
    expect(Number.isNaN(median([]))).toBe(true);
  });

  it('runs every scenario on tiny inputs and writes the report', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'marie-bench-'));
    const out = path.join(dir, 'BENCHMARKS.md');
    const lines: string[] = [];
    const outcome = await runBench({
      size: 'tiny',
      serverUrl: inject('adminDatabaseUrl'),
      redisUrl: inject('redisUrl'),
      out,
      command: 'npm run bench -- --tiny',
      log: (l) => lines.push(l),
    });
    const failed = outcome.results.filter((r) => r.error).map((r) => `${r.scenario.name}: ${r.error}`);
    expect(failed).toEqual([]);
    expect(outcome.results.map((r) => r.scenario.name)).toEqual(SCENARIOS.map((s) => s.name));
    for (const r of outcome.results) expect(r.result?.rows.length ?? 0).toBeGreaterThan(0);
    const md = await readFile(out, 'utf8');
    expect(md).toBe(outcome.markdown);
    expect(md).toContain('| scenario | metric | ours | raw baseline | ratio | target | verdict |');
    for (const s of SCENARIOS) expect(md).toContain(`### ${s.name}`);
    expect(lines.some((l) => l.startsWith('▶ ingest'))).toBe(true);
  }, 300_000);

  it('refuses an unknown scenario name before touching anything', async () => {
    await expect(
      runBench({
        size: 'tiny',
        only: ['nope'],
        serverUrl: inject('adminDatabaseUrl'),
        redisUrl: inject('redisUrl'),
        out: null,
        command: 'x',
      }),
    ).rejects.toThrow(/unknown scenario/);
  });
});
