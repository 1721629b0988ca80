import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

type Handler = (message: string) => void;

/**
 * Redis pub/sub shared by every process of the control plane (key revocations, and the
 * event relay later). One subscriber connection per process, channels namespaced by the
 * configured prefix so test runs do not hear each other.
 */
export class RedisBus {
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    this.sub.on('message', (channel: string, message: string) => {
      for (const h of this.handlers.get(channel) ?? []) {
        try {
          h(message);
        } catch (err) {
          this.log.error({ err, channel }, 'bus handler failed');
        }
      }
    });
  }

  channel(name: string): string {
    return `${this.prefix}:${name}`;
  }

  async publish(name: string, message: string): Promise<void> {
    await this.pub.publish(this.channel(name), message);
  }

  async subscribe(name: string, handler: Handler): Promise<() => Promise<void>> {
    const ch = this.channel(name);
    let set = this.handlers.get(ch);
    if (!set) {
      set = new Set();
      this.handlers.set(ch, set);
      try {
        await this.sub.subscribe(ch);
      } catch (err) {
        this.handlers.delete(ch); // Redis away: the next subscribe tries again
        throw err;
      }
    }
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0) {
        this.handlers.delete(ch);
        await this.sub.unsubscribe(ch).catch(() => undefined);
      }
    };
  }
}
