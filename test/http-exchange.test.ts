import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { exchange, keepAliveAgent, RemoteCallError } from '../src/worker/remote/http-exchange';

// What a remote call's failure says about whether the request reached the remote: a job is
// handed back (its try unspent) only when it never did (src/worker/remote/remote-executor.ts).

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A raw server on a free port: `onRequest(socket, n)` for its n-th request (1-based). */
async function rawServer(onRequest: (socket: net.Socket, n: number) => void) {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => {
      if (chunk.toString('latin1').includes('\r\n\r\n')) onRequest(socket, ++n);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  closers.push(close);
  return { url: new URL(`http://127.0.0.1:${port}/x`), close, sockets };
}

const OK = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}';
const post = { method: 'POST' as const, body: '{}', timeoutMs: 5_000 };

it('a refused connection is a request never sent', async () => {
  const s = await rawServer(() => undefined);
  await s.close();
  const err = await exchange(keepAliveAgent(s.url, 1), { ...post, url: s.url }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteCallError);
  expect((err as RemoteCallError).notSent).toBe(true);
});

it('a keep-alive connection that breaks mid-call, then a refused retry: not "never sent" (the remote may have run it)', async () => {
  const server: Awaited<ReturnType<typeof rawServer>> = await rawServer((socket, n) => {
    if (n === 1) return void socket.write(OK); // the connection is kept for the next call
    // The second call reached the remote, which dies without answering: nothing listens any more.
    void server.close();
  });
  const agent = keepAliveAgent(server.url, 1);
  expect((await exchange(agent, { ...post, url: server.url })).status).toBe(200);
  const err = await exchange(agent, { ...post, url: server.url }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteCallError);
  expect((err as RemoteCallError).message).toMatch(/ECONNREFUSED/); // the retry on a new connection was refused
  expect((err as RemoteCallError).notSent).toBe(false);
  agent.destroy();
});
