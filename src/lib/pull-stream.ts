/**
 * A stream that can also be drained synchronously: a consumer that handles many streams in
 * one loop (the WebSocket fan-out, src/server/shared-subscribe.ts) takes what each has ready
 * when the producer says so, where `next()` would cost a promise per value and consumer.
 */
export const PULL = Symbol('pull');

export interface Puller<T> {
  /**
   * The next value ready now, `done` once the stream has ended, or null when nothing is
   * ready yet (`onReady` is called when something may be). Throws what `next()` would reject with.
   */
  take(): IteratorResult<T, undefined> | null;
}

export interface Pullable<T> {
  /**
   * Switches the stream to pulling (once, and instead of `next()`): `onReady` is then called,
   * synchronously from the producer, whenever `take()` may return something new.
   */
  [PULL](onReady: () => void): Puller<T>;
}

export const isPullable = <T>(v: unknown): v is Pullable<T> =>
  typeof v === 'object' && v !== null && typeof (v as Partial<Pullable<T>>)[PULL] === 'function';

/** A Puller that maps each value as `take()` hands it out. */
export function mapPuller<T, U>(p: Puller<T>, fn: (v: T) => U): Puller<U> {
  return {
    take() {
      const r = p.take();
      return r === null || r.done ? r : { done: false, value: fn(r.value) };
    },
  };
}
