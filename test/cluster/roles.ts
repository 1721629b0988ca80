import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { waitFor } from '../support/dag-helpers';
import { launch, logLine, ROOT, type Spawned } from '../support/spawned';
import type { GqlResponse } from '../support/test-app';
import { HOSTS, WORK_DIR, type Host, type HostName } from './netns';
import { STORES } from './stores';

export type RoleName = 'api' | 'worker' | 'scheduler';
export const API_PORT = 4000;

/** Short timings: a killed worker's lease runs out within seconds, with room for a loaded machine. */
export const CLUSTER_TIMINGS = {
  LEASE_MS: '5000',
  HEARTBEAT_MS: '500',
  SWEEP_INTERVAL_MS: '200',
  RETRY_DELAY_UNIT_MS: '100',
  WORKER_STALE_MS: '8000',
};

/** The admin key every api process ensures at start (AUTH_BOOTSTRAP_KEY, tenant "default"). */
export const ADMIN_KEY = `mk_cluster_${randomBytes(16).toString('hex')}`;
const TOKEN_SECRET = randomBytes(32).toString('hex');

export interface RoleProcess extends Spawned {
  name: HostName;
  role: RoleName;
  host: Host;
}

/** The example pipeline's executors (compiled under dist/ by `npm run build`), each worker its own workspace. */
async function writeWorkerConfig(name: HostName): Promise<string> {
  const dir = path.join(ROOT, 'examples/document-pipeline/executors');
  const mod = (f: string) => JSON.stringify(path.join(dir, f));
  const ws = JSON.stringify(path.join(WORK_DIR, name, 'workspace'));
  const file = path.join(WORK_DIR, name, 'executors.yml');
  await writeFile(
    file,
    `executors:
  - { jtype: OcrExecutor, modules: [${mod('ocr.executor.ts')}], metas: { name: ocr, workspace: ${ws} }, concurrency: 2 }
  - jtype: ClassifyExecutor
    modules: [${mod('classify.executor.ts')}]
    with: { confidenceThreshold: 0.8 }
    metas: { name: classify }
  - { jtype: ExtractExecutor, modules: [${mod('extract.executor.ts')}], metas: { name: extract }, concurrency: 4 }
  - { jtype: StoreExecutor, modules: [${mod('store.executor.ts')}], metas: { name: store } }
`,
  );
  return file;
}

/**
 * `node dist/src/main.js --role <role>` inside the host's namespace (`ip netns exec` execs
 * node itself, so the pid is the server's), the stores reached over the bridge.
 */
export async function startRole(name: HostName, role: RoleName): Promise<RoleProcess> {
  const host = HOSTS[name];
  const dataDir = path.join(WORK_DIR, name);
  await mkdir(dataDir, { recursive: true });
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    DATABASE_URL: STORES.databaseUrl,
    REDIS_URL: STORES.redisUrl,
    QUEUE_PREFIX: 'marie',
    DATA_DIR: dataDir,
    ATTEMPT_TOKEN_SECRET: TOKEN_SECRET,
    METRICS_ENABLED: 'false',
    HOST: host.addr,
    PORT: String(API_PORT),
    ...CLUSTER_TIMINGS,
  };
  if (role === 'api') env.AUTH_BOOTSTRAP_KEY = ADMIN_KEY;
  if (role === 'worker') {
    Object.assign(env, {
      WORKER_ID: name,
      WORKER_CONFIG: await writeWorkerConfig(name),
      WORKER_GRACE_MS: '1000',
      NOOP_CONCURRENCY: '40',
      NVIDIA_SMI_PATH: path.join(dataDir, 'no-nvidia-smi'),
      STORAGE_URL: `file://${path.join(WORK_DIR, 'storage')}`,
    });
  }
  const args = ['netns', 'exec', host.ns, process.execPath, path.join(ROOT, 'dist/src/main.js'), '--role', role];
  return { ...launch('ip', args, env), name, role, host };
}

/** Resolves once the process logged "started"; rejects with its output if it exits first. */
export async function started(p: RoleProcess, timeoutMs = 120_000): Promise<void> {
  const exited = p.exited.then(({ code, signal }) => {
    throw new Error(`${p.name} (${p.role}) exited (${code ?? signal}) before it started:\n${p.output()}`);
  });
  await Promise.race([logLine(p, 'started', timeoutMs), exited]);
  exited.catch(() => undefined);
}

/** SIGKILL, and wait until the kernel has reaped it. */
export async function killHard(p: RoleProcess): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await p.exited;
}

/** A GraphQL endpoint of one api process, reached from the root namespace over the bridge. */
export class ApiClient {
  readonly url: string;
  readonly wsUrl: string;
  private readonly sockets: WsClient[] = [];

  constructor(readonly host: Host) {
    this.url = `http://${host.addr}:${API_PORT}/graphql`;
    this.wsUrl = `ws://${host.addr}:${API_PORT}/graphql`;
  }

  async gql<T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
    key = ADMIN_KEY,
  ): Promise<GqlResponse<T>> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as Omit<GqlResponse<T>, 'status' | 'headers'>;
    return { status: res.status, headers: res.headers, ...body };
  }

  async ready(timeoutMs = 30_000): Promise<void> {
    const url = this.url.replace(/\/graphql$/, '/readyz');
    await waitFor(
      async () => (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status === 200,
      timeoutMs,
      url,
    );
  }

  ws(key = ADMIN_KEY): WsClient {
    const client = createClient({
      url: this.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      connectionParams: { authorization: `Bearer ${key}` },
    });
    this.sockets.push(client);
    return client;
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.splice(0).map(async (c) => c.dispose()));
  }
}
