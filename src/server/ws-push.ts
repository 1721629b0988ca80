import type { Socket } from 'node:net';
import type { ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';

/**
 * Pushed subscriptions: a subscription source that hands its results to the subscriber's
 * socket itself, synchronously, instead of being iterated by graphql-ws (whose per-operation
 * `for await`, `emit.next` and `send` cost several promises per frame and subscriber). The
 * fan-out's shared step (src/server/shared-subscribe.ts) does this for all the subscribers of
 * an event in one loop; graphql-ws still owns the protocol (src/server/ws-transport.ts).
 */
export const PUSH = Symbol('push');

/** One subscriber's `next` messages, written by the transport. */
export interface FrameSink {
  /**
   * Writes `result` as this subscriber's next `next` message, now. False: its socket held
   * WS_SEND_HIGH_WATER bytes or more; write no more until `resume` is called (once written).
   */
  next(result: ExecutionResult, resume: () => void): boolean;
}

/** A pushing subscription, as graphql-ws's side sees it. */
export interface PushHandle {
  /** Begin writing (graphql-ws has registered the operation). */
  start(): void;
  /** Settles when the stream ends (then graphql-ws sends `complete`) or fails (`error`). */
  readonly ended: Promise<void>;
  /** The client completed or left: write nothing more and end the source. */
  stop(): void;
}

export interface PushSource {
  [PUSH](sink: FrameSink): PushHandle;
}

export const isPushSource = (v: unknown): v is PushSource =>
  typeof v === 'object' && v !== null && typeof (v as Partial<PushSource>)[PUSH] === 'function';

/** What graphql-ws iterates for a pushed operation: nothing, until the stream ends. */
export function pushedIterator(handle: PushHandle): AsyncGenerator<ExecutionResult, undefined> {
  const done = { done: true, value: undefined } as const;
  const it: AsyncGenerator<ExecutionResult, undefined> = {
    [Symbol.asyncIterator]: () => it,
    next: () => {
      handle.start();
      return handle.ended.then(() => done);
    },
    return: () => {
      handle.stop();
      return Promise.resolve(done);
    },
    throw: (err: unknown) => {
      handle.stop();
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    },
  };
  return it;
}

/**
 * A WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked as a server's are) of
 * `head` + `tail` (`tail`: the same bytes for every subscriber), written as one chunk.
 */
export function writeTextFrame(raw: Socket, head: Buffer, tail: Buffer, cb?: (err?: Error | null) => void): void {
  const len = head.length + tail.length;
  const hl = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(hl + len);
  out[0] = 0x81;
  if (hl === 2) out[1] = len;
  else if (hl === 4) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  head.copy(out, hl);
  tail.copy(out, hl + head.length);
  raw.write(out, cb);
}

/**
 * Whether frames may be written to the socket's TCP stream directly: `ws` writes a frame
 * synchronously and queues nothing of its own without permessage-deflate (off on our server),
 * so a frame written here never interleaves with one of `ws`'s.
 */
export const rawWritable = (socket: WebSocket): boolean => socket.extensions === '';
