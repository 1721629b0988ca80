import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GraphQLError,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  type ExecutionResult,
} from 'graphql';
import WebSocket, { WebSocketServer } from 'ws';
import { PUSH, type FrameSink, type PushSource } from '../src/server/ws-push';
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

/**
 * `n` results whose payloads count their serialisations (JSON.stringify calls toJSON each
 * time it writes one), the same objects for every subscriber, as the fan-out's shared
 * executions give.
 */
function countedResults(n: number): {
  results: Array<{ data: { tick: { toJSON(): string } } }>;
  serialisations: () => number;
} {
  let count = 0;
  const results = Array.from({ length: n }, (_, i) => ({
    data: {
      tick: {
        toJSON: () => {
          count++;
          return `t${i}`;
        },
      },
    },
  }));
  return { results, serialisations: () => count };
}

describe('useTransport: one result to many subscribers', () => {
  it('serialises a result its subscribers share once, each still getting its own next message', async () => {
    const { results, serialisations } = countedResults(10);
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
    expect(serialisations()).toBe(results.length);
  });
});

describe('useTransport: pushed subscriptions', () => {
  it('writes pushed results as graphql-ws next messages, each serialised once, and nothing after complete', async () => {
    const { results, serialisations } = countedResults(10);
    const sinks: FrameSink[] = [];
    const handles: { stopped: boolean; end: () => void }[] = [];
    let iterated = 0;
    // A pushing source (as the fan-out's shared step): graphql-ws, iterating it, would get nothing.
    const source = (): PushSource & AsyncIterable<ExecutionResult> => ({
      [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => iterated++) }),
      [PUSH]: (sink) => {
        let end!: () => void;
        const ended = new Promise<void>((r) => (end = r));
        const h = { stopped: false, end };
        handles.push(h);
        return {
          start: () => void sinks.push(sink),
          ended,
          stop: () => {
            h.stopped = true;
            end();
          },
        };
      },
    });
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const writes: number[] = [];
    wss.on('connection', (_s, request) => {
      // Every write the TCP stream hands to the kernel, one chunk (_write) or several (_writev).
      const s = request.socket as Socket & {
        _writev: NonNullable<Socket['_writev']>;
        _write: Socket['_write'];
      };
      const k = writes.push(0) - 1;
      const writev = s._writev.bind(s);
      const write = s._write.bind(s);
      s._writev = (chunks, cb) => {
        writes[k]++;
        writev(chunks, cb);
      };
      s._write = (chunk, encoding, cb) => {
        writes[k]++;
        write(chunk, encoding, cb);
      };
    });
    const server = useTransport(
      {
        schema,
        subscribe: source as never,
        // A result with errors is formatted per subscriber, as ws.ts masks them.
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors?.length ? { errors: [{ message: 'masked' }] } : undefined,
      },
      wss,
    );
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const frames: string[][] = [[], [], []];
    const clients: WebSocket[] = [];
    cleanup = async () => {
      for (const c of clients) c.terminate();
      await server.dispose();
    };
    // One at a time: sinks[k] and handles[k] are client k's.
    for (let k = 0; k < 3; k++) {
      const client = new WebSocket(url, 'graphql-transport-ws');
      clients.push(client);
      client.on('open', () => client.send(JSON.stringify({ type: 'connection_init' })));
      client.on('message', (data: Buffer) => {
        const text = data.toString();
        const m = JSON.parse(text) as { type: string };
        if (m.type === 'connection_ack') {
          client.send(JSON.stringify({ id: `s"${k}`, type: 'subscribe', payload: { query: 'subscription { tick }' } }));
        } else frames[k].push(text);
      });
      await until(() => sinks.length === k + 1);
    }
    writes.fill(0);
    // The shared step's loop: every result to every subscriber, synchronously.
    for (const r of results) for (const sink of sinks) expect(sink.next(r, () => undefined)).toBe(true);
    await until(() => frames.every((f) => f.length === results.length));
    const next = (k: number, payload: unknown) => JSON.stringify({ id: `s"${k}`, type: 'next', payload });
    for (let k = 0; k < 3; k++) expect(frames[k]).toEqual(results.map((_, i) => next(k, { data: { tick: `t${i}` } })));
    expect(serialisations()).toBe(results.length);
    // Ten frames to a socket in one write; graphql-ws never iterated the source.
    expect(writes).toEqual([1, 1, 1]);
    expect(iterated).toBe(0);

    const failed = { data: null, errors: [new GraphQLError('secret detail')] };
    for (const sink of sinks) sink.next(failed, () => undefined);
    await until(() => frames.every((f) => f.length === results.length + 1));
    for (let k = 0; k < 3; k++) expect(frames[k].at(-1)).toBe(next(k, { errors: [{ message: 'masked' }] }));
    // A result with errors (sent by `ws`) right behind a pushed frame of the same tick (still
    // queued): it goes after it.
    for (const sink of sinks) {
      sink.next(results[0], () => undefined);
      sink.next(failed, () => undefined);
    }
    await until(() => frames.every((f) => f.length === results.length + 3));
    for (let k = 0; k < 3; k++)
      expect(frames[k].slice(-2)).toEqual([
        next(k, { data: { tick: 't0' } }),
        next(k, { errors: [{ message: 'masked' }] }),
      ]);

    // Client 0 completes: graphql-ws stops its source (the shared step then writes nothing more to it).
    clients[0].send(JSON.stringify({ id: 's"0', type: 'complete' }));
    await until(() => handles[0].stopped);
    expect(handles.map((h) => h.stopped)).toEqual([true, false, false]);
    sinks[2].next(results[0], () => undefined);
    // Client 1's stream ends right behind a pushed frame, in a microtask (as a shared
    // execution's waiters are resumed): graphql-ws's complete, sent before the tick's frames
    // are flushed, still goes after them.
    queueMicrotask(() => {
      sinks[1].next(results[1], () => undefined);
      handles[1].end();
    });
    await until(() => frames[1].length === results.length + 5 && frames[2].length === results.length + 4);
    expect(frames[1].slice(-2)).toEqual([
      next(1, { data: { tick: 't1' } }),
      JSON.stringify({ id: 's"1', type: 'complete' }),
    ]);
    expect(frames[2].at(-1)).toBe(next(2, { data: { tick: 't0' } }));
    expect(frames[0]).toHaveLength(results.length + 3);
  });
});
