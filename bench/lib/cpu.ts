import { readFileSync, readdirSync } from 'node:fs';
import type { Pool } from 'pg';

/** Clock ticks per second of /proc's utime and stime (Linux's USER_HZ). */
const TICKS = 100;

/** A process's user + system CPU time in seconds, or null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after its closing parenthesis.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return null;
  }
}

/** Pids whose command line contains `text`. */
export function pidsOf(text: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(text)) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The machine's busy and total CPU ticks since boot, over all cores (/proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * CPU used by groups of processes over a window, as a percentage of one core (and the
 * window's `wallSeconds`; `machine`: the whole machine's busy share of all cores). A group's
 * pids may change during the window (backends that connect later): `pids()` is asked at
 * the start and at the end, and a pid first seen at the end counts its whole CPU time.
 */
export function cpuMeter(groups: Record<string, () => number[] | Promise<number[]>>) {
  const start = new Map<number, number>();
  let t0 = 0;
  let m0 = { busy: 0, total: 0 };
  return {
    async begin(): Promise<void> {
      t0 = Date.now();
      m0 = machineTicks();
      for (const g of Object.values(groups)) for (const p of await g()) start.set(p, cpuSeconds(p) ?? 0);
    },
    async end(): Promise<Record<string, number>> {
      const wall = (Date.now() - t0) / 1000;
      const m1 = machineTicks();
      // The whole machine (every process, other users' included), as % of all its cores.
      const out: Record<string, number> = {
        machine: (100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total),
        wallSeconds: wall,
      };
      for (const [name, g] of Object.entries(groups)) {
        let used = 0;
        for (const p of new Set(await g())) used += (cpuSeconds(p) ?? 0) - (start.get(p) ?? 0);
        out[name] = (100 * used) / Math.max(wall, 1e-3);
      }
      return out;
    },
  };
}

/** CPU per job by component, µs: this process, the PostgreSQL backends, the Redis servers; the sum. */
export interface JobCpu {
  node: number;
  postgres: number;
  redis: number;
  total: number;
  /** The machine's busy share of all its cores over the run, %. */
  machineBusy: number;
}

/**
 * A run's CPU per job: this process (the roles in it, or the baseline's BullMQ producer and
 * worker), the PostgreSQL backends `backends()` names, and every `redis-server` on the machine.
 */
export function jobCpuMeter(backends: () => Promise<number[]>) {
  const meter = cpuMeter({ node: () => [process.pid], postgres: backends, redis: () => pidsOf('redis-server') });
  return {
    begin: () => meter.begin(),
    async end(jobs: number): Promise<JobCpu> {
      const c = await meter.end();
      const us = (pct: number) => ((pct / 100) * c.wallSeconds * 1e6) / Math.max(1, jobs);
      const node = us(c.node);
      const postgres = us(c.postgres);
      const redis = us(c.redis);
      return { node, postgres, redis, total: node + postgres + redis, machineBusy: c.machine };
    },
  };
}

/** The pids of the PostgreSQL backends connected to `pg`'s database now. */
export function backendsOf(pg: Pool): () => Promise<number[]> {
  return async () =>
    (await pg.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)).rows.map(
      (r) => r.pid,
    );
}
