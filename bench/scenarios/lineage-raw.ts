import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';

/** The naive recursive CTE: UNION over (node, depth), then each node's nearest depth. */
export const NAIVE_UP = `WITH RECURSIVE walk(node, depth) AS (
    SELECT $2::text, 0
  UNION
    SELECT e.from_key, w.depth + 1 FROM walk w JOIN asset_edges e ON e.tenant_id = $1 AND e.to_key = w.node
     WHERE w.depth < 10)
  SELECT node, min(depth) AS depth FROM walk GROUP BY node`;
export const NAIVE_DOWN = NAIVE_UP.replace('e.from_key, w.depth', 'e.to_key, w.depth').replace(
  'e.to_key = w.node',
  'e.from_key = w.node',
);

/** The edges among a set of keys, in one statement. */
const EDGES_AMONG = `SELECT from_key, to_key FROM asset_edges
  WHERE tenant_id = $1 AND from_key = ANY($2::text[]) AND to_key = ANY($2::text[])`;

export type Direction = 'UPSTREAM' | 'DOWNSTREAM';

/**
 * The like-for-like baseline of the whole answer, by the simplest means: the naive CTE for
 * the nodes, one statement for the edges among them, the answer built as plain objects in
 * the shape ours sends and written with `JSON.stringify` by a bare `node:http` server. No
 * GraphQL, no authentication, no paging, no order: what is left is the work any server
 * answering the same question has to do (walk, edges, JSON over HTTP).
 */
export async function startRawLineageServer(
  pg: Pool,
  tenantId: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const answer = async (k: string, d: Direction) => {
    const nodes = await pg.query<{ node: string; depth: number }>(d === 'UPSTREAM' ? NAIVE_UP : NAIVE_DOWN, [
      tenantId,
      k,
    ]);
    const keys = nodes.rows.map((r) => r.node);
    const edges = await pg.query<{ from_key: string; to_key: string }>(EDGES_AMONG, [tenantId, keys]);
    const sign = d === 'UPSTREAM' ? -1 : 1;
    return {
      data: {
        lineage: {
          totalNodes: keys.length,
          truncated: false,
          nodes: nodes.rows.map((r) => ({ assetKey: r.node, distance: r.depth === 0 ? 0 : sign * r.depth })),
          edges: edges.rows.map((r) => ({ fromAssetKey: r.from_key, toAssetKey: r.to_key })),
        },
      },
    };
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { variables } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        variables: { k: string; d: Direction };
      };
      answer(variables.k, variables.d).then(
        (body) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        },
        (e: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(e));
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The client both servers are read with: the same POST, the same `res.json()`. */
export async function postJson<T>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const parsed = (await res.json()) as { data?: unknown; errors?: unknown[] };
  if (res.status !== 200 || parsed.errors?.length) {
    throw new Error(`${res.status}: ${JSON.stringify(parsed.errors ?? parsed).slice(0, 500)}`);
  }
  return parsed.data as T;
}
