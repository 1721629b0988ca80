import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * The hosts of the cluster harness: one Linux network namespace each, with a veth pair
 * whose outer end sits on one bridge of the root namespace (10.231.0.1). Everything it
 * creates is named with PREFIX, so a later run finds and removes what a killed run left.
 */
export const PREFIX = 'mrc-';
export const BRIDGE = `${PREFIX}br0`;
export const SUBNET = '10.231.0';
export const GATEWAY = `${SUBNET}.1`;
/** The harness's own folder (stores' data, logs, storage, worker config); removed at the end. */
export const WORK_DIR = path.join(os.tmpdir(), 'marie-netns-cluster');
/** Names the live run (its pid), so a second run at the same time stops instead of tearing it down. */
const LOCK_FILE = path.join(os.tmpdir(), 'marie-netns-cluster.pid');

export interface Host {
  /** The namespace's name, `mrc-<short>`. */
  ns: string;
  addr: string;
}

const host = (short: string, last: number): Host => ({ ns: `${PREFIX}${short}`, addr: `${SUBNET}.${last}` });

export const HOSTS = {
  stores: host('stores', 2),
  api1: host('api1', 11),
  api2: host('api2', 12),
  worker1: host('worker1', 21),
  worker2: host('worker2', 22),
  sched1: host('sched1', 31),
  sched2: host('sched2', 32),
} as const;
export type HostName = keyof typeof HOSTS;

export async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    return (await exec(cmd, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** What the harness needs of the machine (`more`: what the caller found missing); a clear error naming it. */
export async function checkPrerequisites(more: string[] = []): Promise<void> {
  const missing: string[] = [...more];
  if (process.getuid?.() !== 0) missing.push('root (network namespaces need CAP_NET_ADMIN)');
  for (const bin of ['ip', 'redis-server', 'runuser']) {
    await sh('sh', ['-c', `command -v ${bin}`]).catch(() => missing.push(`${bin} on PATH`));
  }
  await sh('id', ['-u', 'postgres']).catch(() => missing.push('a "postgres" user to run PostgreSQL as'));
  if (!existsSync(path.resolve(__dirname, '../../dist/src/main.js'))) missing.push('dist/ (npm run build)');
  if (missing.length) throw new Error(`the cluster harness needs: ${missing.join('; ')}`);
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Claim the harness for this process; refuse while another live run holds it (a dead one's claim is taken over). */
export async function takeLock(): Promise<void> {
  try {
    await writeFile(LOCK_FILE, `${process.pid}\n`, { flag: 'wx' });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const owner = Number(readFileSync(LOCK_FILE, 'utf8').trim());
  if (owner && owner !== process.pid && pidAlive(owner)) {
    throw new Error(`another cluster run (pid ${owner}) is in progress: ${LOCK_FILE}`);
  }
  await writeFile(LOCK_FILE, `${process.pid}\n`);
}

export async function releaseLock(): Promise<void> {
  if (existsSync(LOCK_FILE) && Number(readFileSync(LOCK_FILE, 'utf8').trim()) === process.pid) {
    await rm(LOCK_FILE, { force: true });
  }
}

/** The harness's namespaces that exist now. */
async function ourNamespaces(): Promise<string[]> {
  const out = await sh('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n?.startsWith(PREFIX));
}

/** The harness's links in the root namespace (the bridge and veth ends). */
async function ourLinks(): Promise<string[]> {
  const out = await sh('ip', ['-o', 'link', 'show']);
  return out
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n && n.startsWith(PREFIX));
}

/** SIGKILL every process inside the harness's namespaces (what a killed run left running). */
export async function killNamespaceProcesses(): Promise<number> {
  let killed = 0;
  for (const ns of await ourNamespaces()) {
    const pids = (await sh('ip', ['netns', 'pids', ns]).catch(() => ''))
      .split('\n')
      .map(Number)
      .filter((p) => p > 0 && p !== process.pid);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // gone meanwhile
      }
    }
  }
  return killed;
}

/**
 * Remove everything of the harness: processes in its namespaces, the namespaces (their
 * veth ends go with them), the bridge and any stray link, and the work folder. Safe to
 * call when nothing is there; the first step of every run and the last.
 */
export async function teardownNetwork(): Promise<void> {
  if (await killNamespaceProcesses()) {
    // Give the kernel a moment to reap them before their namespaces go.
    await new Promise((r) => setTimeout(r, 300));
  }
  for (const ns of await ourNamespaces()) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
  for (const link of await ourLinks()) await sh('ip', ['link', 'del', link]).catch(() => undefined);
  await rm(WORK_DIR, { recursive: true, force: true });
}

/** The bridge (10.231.0.1 in the root namespace) and one namespace per host, each reachable over it. */
export async function buildNetwork(): Promise<void> {
  await mkdir(WORK_DIR, { recursive: true });
  await sh('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  await sh('ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', BRIDGE]);
  await sh('ip', ['link', 'set', BRIDGE, 'up']);
  for (const h of Object.values(HOSTS)) {
    const outer = h.ns; // e.g. mrc-worker1 (at most 15 characters)
    const inner = `${h.ns}p`;
    await sh('ip', ['netns', 'add', h.ns]);
    await sh('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner]);
    await sh('ip', ['link', 'set', inner, 'netns', h.ns]);
    await sh('ip', ['-n', h.ns, 'link', 'set', inner, 'name', 'eth0']);
    await sh('ip', ['-n', h.ns, 'addr', 'add', `${h.addr}/24`, 'dev', 'eth0']);
    await sh('ip', ['-n', h.ns, 'link', 'set', 'eth0', 'up']);
    await sh('ip', ['-n', h.ns, 'link', 'set', 'lo', 'up']);
    await sh('ip', ['link', 'set', outer, 'master', BRIDGE]);
    await sh('ip', ['link', 'set', outer, 'up']);
  }
}

/** Names of the harness's namespaces and links now (empty after a clean teardown). */
export async function leftovers(): Promise<string[]> {
  return [...(await ourNamespaces()), ...(await ourLinks()), ...(existsSync(WORK_DIR) ? [WORK_DIR] : [])];
}
