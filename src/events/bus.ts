import type { ClusterOptions } from 'ioredis';
import type { Logger } from 'pino';
import { codecOf, type BusChannel, type BusMessages } from '../core/bus-channels';
import { publishOn, type RedisClient } from '../lib/redis';

type Handler = (message: string) => void;

/** Told when the subscriber connection drops, and when it is back with its channels subscribed again. */
export interface ConnectionWatcher {
  dropped(): void;
  back(): void;
}

/**
 * Redis pub/sub shared by every process of the control plane (key revocations, cancels,
 * executor status, the event relay). One subscriber connection per process (one per master
 * on a cluster), channels namespaced by the configured prefix so test runs do not hear each
 * other. Channels and their messages are listed in core/bus-channels.ts: `send` and `listen`
 * encode and decode them; `publish` and `subscribe` carry the wire text as it is.
 *
 * On a Redis Cluster the channels are sharded (SPUBLISH / SSUBSCRIBE, Redis 7): a
 * channel's messages all go through the master of its hash slot, so a subscriber hears
 * them in the order they were published. A classic PUBLISH enters at whichever node the
 * client picks and reaches the others over the cluster bus, so two messages published one
 * after the other could arrive the other way round (the relay's event batches did; a
 * subscriber then drops the earlier one as a duplicate by position). The subscriber
 * connection is made with `shardedSubscriber` (lib/redis.ts) for that.
 */
export class RedisBus {
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly watchers = new Set<ConnectionWatcher>();

  constructor(
    private readonly pub: RedisClient,
    private readonly sub: RedisClient,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    if (sub.isCluster && !(sub.options as ClusterOptions).shardedSubscribers) {
      throw new Error('RedisBus: a cluster subscriber needs createRedis(…, { shardedSubscriber: true })');
    }
    if (sub.isCluster) this.watchShardedSubscribers();
    else this.watchSubscriber();
    this.sub.on(this.sub.isCluster ? 'smessage' : 'message', (channel: string, message: string) => {
      for (const h of this.handlers.get(channel) ?? []) {
        try {
          h(message);
        } catch (err) {
          this.log.error({ err, channel }, 'bus handler failed');
        }
      }
    });
  }

  /**
   * Watch the subscriber connection (one per master on a cluster). `back` comes once this
   * process's channels are subscribed again, confirmed by Redis: whatever is published from
   * then on is heard.
   */
  watchConnection(w: ConnectionWatcher): () => void {
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  private watchSubscriber(): void {
    let down = false;
    this.sub.on('close', () => {
      if (down) return;
      down = true;
      for (const w of this.watchers) w.dropped();
    });
    this.sub.on('ready', () => {
      if (!down) return;
      down = false;
      // ioredis subscribes the channels again on its own; this SUBSCRIBE's answer comes
      // after those, so once it is in every channel is live.
      const channels = [...this.handlers.keys()];
      void (channels.length ? this.sub.subscribe(...channels) : Promise.resolve()).then(
        () => {
          for (const w of this.watchers) w.back();
        },
        (err: unknown) => this.log.warn({ err: String(err) }, 'bus: subscribing again failed'),
      );
    });
  }

  /**
   * A cluster's sharded subscribers (one connection per master) are replaced inside ioredis
   * when it next refreshes the slots after one ended or lost its slots: `-subscriber` as it
   * drops one, `subscribersReady` once the new ones are connected and their channels'
   * SSUBSCRIBEs sent (also after a try that failed to connect). A closed cluster connection
   * drops them all without `-subscriber`. Back is confirmed as on one node: each channel
   * subscribed again through its shard's connection, answered after ioredis' own (ioredis
   * then lists the channel twice, which only repeats it in its next resubscribe). A drop
   * during the confirmation, or a confirmation that fails, waits for the next try.
   */
  private watchShardedSubscribers(): void {
    let down = false;
    let epoch = 0;
    let retry: NodeJS.Timeout | null = null;
    let warned = false;
    const drop = () => {
      epoch += 1;
      if (down) return;
      down = true;
      for (const w of this.watchers) w.dropped();
    };
    const confirm = () => {
      if (!down || this.sub.status !== 'ready') return;
      const at = epoch;
      const channels = [...this.handlers.keys()];
      void Promise.all(channels.map((ch) => this.sub.ssubscribe(ch))).then(
        () => {
          if (!down || at !== epoch) return;
          down = false;
          warned = false;
          if (retry) clearTimeout(retry);
          retry = null;
          for (const w of this.watchers) w.back();
        },
        (err: unknown) => {
          if (!warned) this.log.warn({ err: String(err) }, 'bus: subscribing again failed; trying again');
          warned = true;
          if (!retry)
            retry = setTimeout(() => {
              retry = null;
              confirm();
            }, 500).unref();
        },
      );
    };
    this.sub.on('-subscriber', drop);
    this.sub.on('close', drop);
    this.sub.on('subscribersReady', confirm);
    this.sub.on('ready', confirm);
  }

  channel(name: string): string {
    return `${this.prefix}:${name}`;
  }

  /** Publish a typed message on its channel. */
  async send<C extends BusChannel>(name: C, message: BusMessages[C]): Promise<void> {
    await this.publish(name, codecOf(name).encode(message));
  }

  /** Hear a channel's typed messages; one that does not decode is logged and dropped. */
  listen<C extends BusChannel>(name: C, handler: (message: BusMessages[C]) => void): Promise<() => Promise<void>> {
    const codec = codecOf(name);
    return this.subscribe(name, (raw) => {
      const message = codec.decode(raw);
      if (message === null) this.log.warn({ channel: name }, 'unreadable bus message');
      else handler(message);
    });
  }

  /** Publish the wire text of a message (see `send`). */
  async publish(name: BusChannel, message: string): Promise<void> {
    await publishOn(this.pub, this.channel(name), message);
  }

  /** Hear a channel's wire text (see `listen`). */
  async subscribe(name: BusChannel, handler: Handler): Promise<() => Promise<void>> {
    const ch = this.channel(name);
    let set = this.handlers.get(ch);
    if (!set) {
      set = new Set();
      this.handlers.set(ch, set);
      try {
        await (this.sub.isCluster ? this.sub.ssubscribe(ch) : this.sub.subscribe(ch));
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
        await (this.sub.isCluster ? this.sub.sunsubscribe(ch) : this.sub.unsubscribe(ch)).catch(() => undefined);
      }
    };
  }
}
