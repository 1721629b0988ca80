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

/** The bytes of a WebSocket frame header for a payload of `len` bytes. */
const headerBytes = (len: number) => (len < 126 ? 2 : len < 65_536 ? 4 : 10);

/**
 * One socket's pushed `next` frames of the current tick: WebSocket text frames (RFC 6455
 * §5.2: FIN, opcode 1, unmasked as a server's are) of a subscriber's `head` and a result's
 * `tail` (the same bytes for every subscriber), written as one chunk when the tick's work is
 * done, or at once before anything else goes to the socket (`flush`). A burst of events
 * then costs a subscriber one allocation and one write, not one of each per frame.
 */
export class FrameQueue {
  private heads: Buffer[] = [];
  private tails: Buffer[] = [];
  private written: Array<() => void> = [];
  private scheduled = false;
  /** The bytes queued (frame headers included). */
  bytes = 0;

  constructor(private readonly raw: Socket) {}

  /** Queue a frame; `written`: called once it has been written. */
  add(head: Buffer, tail: Buffer, written?: () => void): void {
    this.heads.push(head);
    this.tails.push(tail);
    const len = head.length + tail.length;
    this.bytes += headerBytes(len) + len;
    if (written) this.written.push(written);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.heads.length === 0) return;
    const out = Buffer.allocUnsafe(this.bytes);
    let at = 0;
    for (let i = 0; i < this.heads.length; i++) {
      const head = this.heads[i];
      const tail = this.tails[i];
      const len = head.length + tail.length;
      out[at] = 0x81;
      if (len < 126) {
        out[at + 1] = len;
        at += 2;
      } else if (len < 65_536) {
        out[at + 1] = 126;
        out.writeUInt16BE(len, at + 2);
        at += 4;
      } else {
        out[at + 1] = 127;
        out.writeUInt32BE(Math.floor(len / 2 ** 32), at + 2);
        out.writeUInt32BE(len >>> 0, at + 6);
        at += 10;
      }
      at += head.copy(out, at);
      at += tail.copy(out, at);
    }
    const written = this.written;
    this.heads = [];
    this.tails = [];
    this.written = [];
    this.bytes = 0;
    if (this.raw.destroyed || this.raw.writableEnded) return;
    this.raw.write(out, written.length ? () => written.forEach((w) => w()) : undefined);
  };
}

/**
 * Whether frames may be written to the socket's TCP stream directly: `ws` writes a frame
 * synchronously and queues nothing of its own without permessage-deflate (off on our server),
 * so a frame written here never interleaves with one of `ws`'s.
 */
export const rawWritable = (socket: WebSocket): boolean => socket.extensions === '';
