/**
 * Where Redis is: one node (REDIS_URL, as ioredis reads it) or a Redis Cluster
 * (REDIS_CLUSTER_NODES, or a `redis+cluster://` REDIS_URL). Parsed here, connected in
 * src/lib/redis.ts, the one place that tells the two apart.
 */

export interface ClusterNode {
  host: string;
  port: number;
}

export type RedisTarget =
  | Readonly<{ kind: 'single'; url: string }>
  | Readonly<{
      kind: 'cluster';
      /** Seed nodes: the client learns the rest of the cluster from them. */
      nodes: readonly Readonly<ClusterNode>[];
      username: string | undefined;
      password: string | undefined;
    }>;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const CLUSTER_SCHEME = 'redis+cluster://';

/** The outcome of parsing: a value, or what is wrong with it (the caller names the variable). */
type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** `host:port,host:port` (an IPv6 host in brackets: `[::1]:7000`). */
export function parseClusterNodes(list: string): Parsed<ClusterNode[]> {
  const items = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) return { ok: false, problem: 'at least one host:port' };
  const nodes: ClusterNode[] = [];
  for (const item of items) {
    const m = /^(?:\[([^\]]+)\]|([^:[\]/@\s]+)):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) {
      return { ok: false, problem: `"${item}" is not host:port (port 1-65535)` };
    }
    nodes.push({ host: m[1] ?? m[2], port });
  }
  return { ok: true, value: nodes };
}

/** `redis+cluster://[user[:password]@]host:port,host:port[/]` (user and password URL-encoded). */
export function parseClusterUrl(url: string): Parsed<Extract<RedisTarget, { kind: 'cluster' }>> {
  let rest = url.slice(CLUSTER_SCHEME.length).replace(/\/$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const [user, ...pass] = rest.slice(0, at).split(':');
    try {
      username = decodeURIComponent(user) || undefined;
      password = pass.length ? decodeURIComponent(pass.join(':')) || undefined : undefined;
    } catch {
      return { ok: false, problem: 'the user or password is not URL-encoded' };
    }
    rest = rest.slice(at + 1);
  }
  const nodes = parseClusterNodes(rest);
  if (!nodes.ok) return { ok: false, problem: `${CLUSTER_SCHEME}: ${nodes.problem}` };
  return { ok: true, value: { kind: 'cluster', nodes: nodes.value, username, password } };
}

/**
 * The target of REDIS_URL and REDIS_CLUSTER_NODES (both as given, unset = undefined).
 * Problems are keyed by the variable they are about.
 */
export function redisTarget(
  url: string | undefined,
  clusterNodes: string | undefined,
): { ok: true; value: RedisTarget } | { ok: false; key: string; problem: string } {
  const clusterUrl = url?.toLowerCase().startsWith(CLUSTER_SCHEME) ?? false;
  if (clusterNodes !== undefined) {
    if (url !== undefined) {
      return {
        ok: false,
        key: 'REDIS_CLUSTER_NODES',
        problem: 'set either REDIS_CLUSTER_NODES or REDIS_URL, not both',
      };
    }
    const nodes = parseClusterNodes(clusterNodes);
    if (!nodes.ok) return { ok: false, key: 'REDIS_CLUSTER_NODES', problem: nodes.problem };
    return { ok: true, value: { kind: 'cluster', nodes: nodes.value, username: undefined, password: undefined } };
  }
  if (clusterUrl) {
    const parsed = parseClusterUrl(url as string);
    return parsed.ok ? parsed : { ok: false, key: 'REDIS_URL', problem: parsed.problem };
  }
  return { ok: true, value: { kind: 'single', url: url ?? DEFAULT_REDIS_URL } };
}

/** The target written as one URL (what REDIS_URL would say), password included. */
export function redisTargetUrl(target: RedisTarget): string {
  if (target.kind === 'single') return target.url;
  const auth =
    target.username || target.password
      ? `${encodeURIComponent(target.username ?? '')}${target.password ? `:${encodeURIComponent(target.password)}` : ''}@`
      : '';
  const hosts = target.nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',');
  return `${CLUSTER_SCHEME}${auth}${hosts}`;
}
