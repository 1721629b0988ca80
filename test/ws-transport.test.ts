import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import WebSocket, { WebSocketServer } from 'ws';
import { useTransport, WS_SEND_HIGH_WATER } from '../src/server/ws-transport';

/**
 * The graphql-ws transport's writes (src/server/ws-transport.ts), on a schema of its own:
 * a burst leaves a socket in one write, and a subscriber that does not read holds its
 * stream back once its socket holds WS_SEND_HIGH_WATER bytes.
 */
let pulled = 0;
let size = 0;
let count = 0;
/** Ends the endless stream (a closed socket's `send` returns at once: it would spin). */
let stop = false;

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      tick: {
        type: new GraphQLNonNull(GraphQLString),
        // `count` values ready at once (0: without end), each `size` characters.
        subscribe: async function* () {
          for (let i = 0; !stop && (count === 0 || i < count); i++) {
            pulled++;
            yield { tick: `${i}:`.padEnd(size, 'x') };
          }
        },
      },
    },
  }),
});

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

/** A server on `useTransport`; the number of writes to each accepted socket's TCP stream. */
async function serve() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const writes = { n: 0 };
  wss.on('connection', (_s, request) => {
    // Every write that reaches the socket's handle: one per frame, or one per corked batch.
    const s = request.socket as Socket & { _write: Socket['_write']; _writev?: Socket['_writev'] };
    const write = s._write.bind(s);
    const writev = s._writev?.bind(s);
    s._write = (chunk, enc, cb) => {
      writes.n++;
      write(chunk, enc, cb);
    };
    if (writev) {
      s._writev = (chunks, cb) => {
        writes.n++;
        writev(chunks, cb);
      };
    }
  });
  const server = useTransport({ schema }, wss);
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const client = new WebSocket(url, 'graphql-transport-ws');
  const nexts: string[] = [];
  client.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString()) as { type: string; payload?: { data: { tick: string } } };
    if (m.type === 'connection_ack') {
      writes.n = 0;
      client.send(JSON.stringify({ id: 'a', type: 'subscribe', payload: { query: 'subscription { tick }' } }));
    }
    if (m.type === 'next') nexts.push(m.payload!.data.tick);
  });
  await new Promise((r) => client.once('open', r));
  client.send(JSON.stringify({ type: 'connection_init' }));
  stop = false;
  cleanup = async () => {
    stop = true;
    client.terminate();
    await server.dispose();
  };
  return { writes, nexts, client };
}

const until = async (ok: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('useTransport', () => {
  it('writes a burst of next messages to a socket together, each its own message, in order', async () => {
    pulled = 0;
    count = 100;
    size = 100;
    const { writes, nexts } = await serve();
    await until(() => nexts.length === 100);
    expect(nexts.map((t) => t.split(':')[0])).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    // graphql-ws's own useServer waits for each frame's write: 100 writes (and the Complete).
    expect(writes.n).toBeLessThanOrEqual(5);
  });

  it('holds a subscriber that does not read once its socket holds the high-water mark', async () => {
    pulled = 0;
    count = 0;
    size = 64 * 1024;
    const { client, nexts } = await serve();
    const socket = (client as unknown as { _socket: Socket })._socket;
    await until(() => nexts.length > 0);
    socket.pause();
    // The kernel's buffers fill, then the socket's own, then `send` waits: the stream stops.
    let stopped = -1;
    for (let i = 0; i < 80 && pulled !== stopped; i++) {
      stopped = pulled;
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(pulled).toBe(stopped);
    // Bounded: what the kernel took plus about one high-water mark, not an endless queue.
    expect(pulled * size).toBeLessThan(64 * 1024 * 1024 + WS_SEND_HIGH_WATER);
    socket.resume();
    await until(() => nexts.length > stopped - 2);
    expect(pulled).toBeGreaterThan(stopped);
  });
});

describe('useTransport: one result to many subscribers', () => {
  it('serialises a result its subscribers share once, each still getting its own next message', async () => {
    // The payload counts its serialisations: JSON.stringify calls toJSON each time it writes it.
    let serialisations = 0;
    const results = Array.from({ length: 10 }, (_, i) => ({
      data: {
        tick: {
          toJSON: () => {
            serialisations++;
            return `t${i}`;
          },
        },
      },
    }));
    const subscribers = 3;
    let subscribed = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    // The same result objects to every subscriber, as the fan-out's shared executions give.
    const server = useTransport(
      {
        schema,
        subscribe: async function* () {
          if (++subscribed === subscribers) release();
          await gate;
          yield* results;
        },
      },
      wss,
    );
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const frames: string[][] = [];
    const clients = Array.from({ length: subscribers }, (_, k) => {
      const client = new WebSocket(url, 'graphql-transport-ws');
      frames[k] = [];
      client.on('open', () => client.send(JSON.stringify({ type: 'connection_init' })));
      client.on('message', (data: Buffer) => {
        const text = data.toString();
        const m = JSON.parse(text) as { type: string };
        if (m.type === 'connection_ack') {
          client.send(JSON.stringify({ id: `s"${k}`, type: 'subscribe', payload: { query: 'subscription { tick }' } }));
        }
        if (m.type === 'next') frames[k].push(text);
      });
      return client;
    });
    cleanup = async () => {
      for (const c of clients) c.terminate();
      await server.dispose();
    };
    await until(() => frames.every((f) => f.length === results.length));
    for (let k = 0; k < subscribers; k++) {
      // Byte for byte what graphql-ws writes for a next message of its own.
      expect(frames[k]).toEqual(
        results.map((_, i) => JSON.stringify({ id: `s"${k}`, type: 'next', payload: { data: { tick: `t${i}` } } })),
      );
    }
    // Once per result, not once per subscriber and result (30).
    expect(serialisations).toBe(results.length);
  });
});
