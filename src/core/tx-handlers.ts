import type { EntityManager } from 'typeorm';

/** A reaction run inside the transaction of the change that triggers it. */
export type TxHandler<P> = (m: EntityManager, payload: P) => Promise<void>;

/**
 * A typed registry of in-transaction reactions: the code that reacts registers a handler
 * for an event type (`on`); the service that makes the change runs them in its
 * transaction (`run`), in registration order. An error fails the transaction.
 */
export class TxHandlers<Events extends object> {
  private readonly handlers = new Map<keyof Events, Array<TxHandler<never>>>();

  /** Register `handler` for `type`; returns a function that removes it. */
  on<K extends keyof Events>(type: K, handler: TxHandler<Events[K]>): () => void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler);
    this.handlers.set(type, list);
    return () => {
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Run the handlers of `type` in `m`'s transaction, one after the other. */
  async run<K extends keyof Events>(type: K, m: EntityManager, payload: Events[K]): Promise<void> {
    for (const h of [...(this.handlers.get(type) ?? [])]) await (h as TxHandler<Events[K]>)(m, payload);
  }
}
