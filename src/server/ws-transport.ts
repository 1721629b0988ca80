import type http from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { ExecutionResult } from 'graphql';
import type { WebSocket, WebSocketServer } from 'ws';
import { FrameQueue, isPushSource, PUSH, pushedIterator, rawWritable, type FrameSink } from './ws-push';

/**
 * Bytes a socket may hold unsent before `send` waits for its frame to be written (and so
 * holds back that subscriber's stream, whose bounded buffer then overflows: the slow
 * consumer is closed with 4409, src/events/subscription.service.ts).
 */
export const WS_SEND_HIGH_WATER = 64 * 1024;

/** The `extra` every operation's context carries: the socket and its upgrade request. */
export interface WsTransportExtra {
  readonly socket: WebSocket;
  readonly request: http.IncomingMessage;
}

/**
 * What the payload of a `next` message is serialised as in place of a SerialisedPayload,
 * spliced out again in `send`. graphql-ws (pinned, package.json) builds `next` messages as
 * `{ id, type, payload }`, so the payload is always the end of the text: found there, it
 * cannot be confused with a client's id, which comes first.
 */
const PAYLOAD_MARK = '\u0000serialised payload';
const PAYLOAD_TAIL = `"payload":${JSON.stringify(PAYLOAD_MARK)}}`;

/** Where a SerialisedPayload leaves its text while graphql-ws serialises a message, for `send`. */
interface Slot {
  pending: string | null;
}

/**
 * A `next` payload already serialised, the same text for every subscriber it goes to.
 * JSON.stringify calls `toJSON` (cheaper than a replacer function, which it would call for
 * every key of every message): it writes the mark and leaves the text for `send`.
 */
class SerialisedPayload {
  constructor(
    readonly json: string,
    private readonly slot: Slot,
  ) {}
  toJSON(): string {
    this.slot.pending = this.json;
    return PAYLOAD_MARK;
  }
}

/**
 * graphql-ws on a `ws` server: graphql-ws/use/ws's `useServer` (same protocol, close codes,
 * keep-alive pings), except for how frames are written, which is what a burst to many
 * subscribers costs. `useServer` makes each `send` wait for its frame's write callback, so
 * a subscriber gets one frame per turn of the event loop and every frame is a write system
 * call of its own (100 events to 1,000 sockets: 100,000 writes, 100 turns). Here `send`
 * returns at once while the socket holds less than WS_SEND_HIGH_WATER bytes unsent
 * (backpressure still holds beyond that), and a socket's writes are corked until the
 * current tick's work is done: the frames one event batch produces for a subscriber leave
 * in one `writev`. The frames themselves, one `next` per event, are unchanged.
 *
 * A result without errors that several subscribers receive as the same object (the fan-out
 * shares one execution per event and operation: src/server/shared-subscribe.ts) is
 * serialised once: each subscriber's `next` is its id spliced around that one text, where
 * graphql-ws would serialise the whole message per subscriber (100 events to 1,000
 * subscribers: 100,000 serialisations of the same payloads, and their garbage). Results
 * with errors go through `onNext` per subscriber as before (each has its own request id).
 * Not done when the options bring a `jsonMessageReplacer` of their own (it would not see the
 * shared text).
 *
 * A subscription source that pushes (src/server/ws-push.ts: the fan-out's shared step) is not
 * iterated by graphql-ws: it gets a FrameSink that writes each result as this subscriber's
 * `next` frame, the shared payload's bytes (one Buffer per result, for every subscriber)
 * behind a small head with the subscriber's id, with the same backpressure; a socket's frames
 * of one tick leave as one chunk (ws-push.ts, FrameQueue), flushed before any other message
 * of the socket so the order holds; graphql-ws gets an iterator that ends when the stream does, so it still owns
 * subscribe, complete (nothing is written after it), errors and close codes.
 */
export function useTransport<P extends Record<string, unknown> | undefined, E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<P, E & WsTransportExtra>,
  wss: WebSocketServer,
  keepAliveMs = 12_000,
): { dispose(): Promise<void> } {
  const serialised = new WeakMap<ExecutionResult, SerialisedPayload>();
  const slot: Slot = { pending: null };
  const onNext = options.onNext;
  /** Each socket's pushed frames of the current tick (see the sink). */
  const queues = new WeakMap<WebSocket, FrameQueue>();
  /** A pushed result's frame tail, `,"type":"next","payload":…}`, shared by its subscribers. */
  const tails = new WeakMap<ExecutionResult, Buffer>();
  const sink = (
    ctx: Parameters<NonNullable<typeof onNext>>[0],
    id: string,
    payload: Parameters<NonNullable<typeof onNext>>[2],
    args: Parameters<NonNullable<typeof onNext>>[3],
  ): FrameSink => {
    const { socket } = ctx.extra;
    const head = Buffer.from(`{"id":${JSON.stringify(id)}`);
    const queue = queues.get(socket);
    if (!queue) throw new Error('a pushed subscription on a socket this transport did not open');
    return {
      next(result, resume) {
        if (socket.readyState !== socket.OPEN) return true;
        const over = socket.bufferedAmount + queue.bytes >= WS_SEND_HIGH_WATER;
        const written = over ? () => resume() : undefined;
        const own = onNext?.(ctx, id, payload, args, result);
        if (own instanceof Promise) throw new Error('a pushed subscription needs an onNext that returns at once');
        if (own || result.errors?.length) {
          // What graphql-ws's emit.next writes, per subscriber as there.
          const { errors, ...rest } = result;
          const body = own || { ...rest, ...(errors ? { errors: errors.map((e) => e.toJSON()) } : {}) };
          queue.flush(); // after the frames before it
          socket.send(JSON.stringify({ id, type: 'next', payload: body }), written);
        } else {
          let tail = tails.get(result);
          if (!tail) tails.set(result, (tail = Buffer.from(`,"type":"next","payload":${JSON.stringify(result)}}`)));
          queue.add(head, tail, written);
        }
        return !over;
      },
    };
  };
  const server = makeServer(
    options.jsonMessageReplacer
      ? options
      : {
          ...options,
          onOperation: options.onOperation
            ? options.onOperation
            : (ctx, id, payload, args, result) =>
                isPushSource(result) && rawWritable(ctx.extra.socket)
                  ? pushedIterator(result[PUSH](sink(ctx, id, payload, args)))
                  : undefined,
          onNext: (ctx, id, payload, args, result) => {
            const own = onNext?.(ctx, id, payload, args, result);
            if (own || result.errors?.length) return own;
            let shared = serialised.get(result);
            if (!shared) serialised.set(result, (shared = new SerialisedPayload(JSON.stringify(result), slot)));
            // graphql-ws only checks that a payload is an object; its toJSON writes the mark.
            return shared as unknown as ExecutionResult;
          },
        },
  );
  wss.options.handleProtocols = handleProtocols;
  // An error of the server itself (as useServer does): close every socket rather than throw.
  wss.once('error', () => {
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });
  wss.on('connection', (socket: WebSocket, request: http.IncomingMessage) => {
    // The upgraded TCP socket, which `ws` writes every frame to.
    const raw: Socket = request.socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      raw.uncork();
    };
    /** Corks the socket until this tick's work is done (once per tick). */
    const cork = () => {
      if (corked) return;
      corked = true;
      raw.cork();
      // After the microtasks of this tick: every frame queued meanwhile goes in one write.
      process.nextTick(uncork);
    };
    const queue = new FrameQueue(raw);
    queues.set(socket, queue);
    socket.once('error', () => socket.close(CloseCode.InternalServerError, 'Internal server error'));
    let pongWait: NodeJS.Timeout | null = null;
    const ping =
      keepAliveMs > 0
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN) return;
            pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
            socket.once('pong', () => {
              if (pongWait) clearTimeout(pongWait);
              pongWait = null;
            });
            socket.ping();
          }, keepAliveMs)
        : null;
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          // graphql-ws calls `send` with the message it has just serialised, synchronously.
          if (slot.pending !== null) {
            data = splice(data, slot.pending);
            slot.pending = null;
          }
          if (socket.readyState !== socket.OPEN) return;
          queue.flush(); // pushed frames queued before this message go first
          cork();
          if (socket.bufferedAmount < WS_SEND_HIGH_WATER) return void socket.send(data);
          return new Promise<void>((resolve, reject) => socket.send(data, (err) => (err ? reject(err) : resolve())));
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on('message', (data: Buffer) => {
            cb(data.toString()).catch(() => socket.close(CloseCode.InternalServerError, 'Internal server error'));
          }),
      },
      { socket, request } as E & WsTransportExtra,
    );
    socket.once('close', (code: number, reason: Buffer) => {
      if (pongWait) clearTimeout(pongWait);
      if (ping) clearInterval(ping);
      void closed(code, reason.toString());
    });
  });
  return {
    dispose: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** The `next` message `data` with its payload's place taken by `json`. */
function splice(data: string, json: string): string {
  if (!data.endsWith(PAYLOAD_TAIL)) throw new Error('a serialised payload outside the end of a next message');
  return `${data.slice(0, data.length - PAYLOAD_TAIL.length)}"payload":${json}}`;
}
