import type { EventEmitter } from 'node:events';
import type { App } from '../../src/app/app';
import { tenantChannel } from '../../src/core/bus-channels';
import type { LoggedEvent } from '../../src/core/events';
import { WARM_UP } from './clients-process';
import { fmt, median } from './stats';

/** When each event (`taskId|state`) first and last reached the sampled subscribers (every 50th), ms since the epoch. */
export type Receipts = Record<string, [number, number]>;

type Fn = (...args: never[]) => unknown;

/** Replaces `obj[key]` (a method or a function-valued property) with `wrap(original)`; returns the undo. */
function patch<T extends object>(obj: T, key: string, wrap: (orig: Fn) => Fn): () => void {
  const o = obj as unknown as Record<string, Fn>;
  const had = Object.prototype.hasOwnProperty.call(o, key);
  const orig = o[key];
  o[key] = wrap(orig.bind(obj));
  return () => {
    if (had) o[key] = orig;
    else delete o[key];
  };
}

/**
 * Timestamps (Date.now(), the clients process's clock too) along an event's way when the
 * api, the relay and the worker share the benchmark process (set-up 1): the group commit's
 * end, the relay's wake-up (NOTIFY), its stamping statement, its publish to Redis, the api's
 * receipt of that message, the end of the api's synchronous delivery loop (every handler of
 * the channel has run) and the next turn of the loop (the corked frames handed to the
 * kernel). Only timestamps and references are taken on the path; the published messages
 * are parsed after the run. Diagnostics only: it wraps private members of the running app.
 */
export class FanoutProbe {
  private readonly commits: number[] = [];
  private readonly notified: number[] = [];
  private readonly stamps: Array<{ start: number; end: number }> = [];
  private readonly published: Array<{ start: number; end: number; message: string }> = [];
  private readonly received: number[] = [];
  private readonly delivered: number[] = [];
  private readonly written: number[] = [];
  private readonly undo: Array<() => void> = [];

  private constructor(private readonly channel: string) {}

  static async attach(app: App, tenantId: string): Promise<FanoutProbe> {
    const { bus, attempts } = app.services;
    const relay = app.scheduler?.relay;
    if (!relay) throw new Error('fanout probe: no scheduler (relay) in this process');
    const p = new FanoutProbe(bus.channel(tenantChannel(tenantId)));
    // Starts and completions group-commit apart: either flush's end is a commit.
    const flushes = attempts as unknown as { starts: object; completions: object };
    for (const commits of [flushes.starts, flushes.completions])
      p.undo.push(
        patch(commits, 'flush', (orig) => async (...args) => {
          const r = await orig(...args);
          p.commits.push(Date.now());
          return r;
        }),
      );
    const relayClient = (relay as unknown as { client: EventEmitter | null }).client;
    if (!relayClient) throw new Error('fanout probe: the relay is not connected');
    const onNotify = () => p.notified.push(Date.now());
    relayClient.prependListener('notification', onNotify);
    p.undo.push(() => relayClient.off('notification', onNotify));
    p.undo.push(
      patch(relay, 'leaderQuery', (orig) => async (...args) => {
        const start = Date.now();
        const r = await orig(...args);
        if ((args as unknown[])[2] === 'marie_relay_stamp') p.stamps.push({ start, end: Date.now() });
        return r;
      }),
    );
    p.undo.push(
      patch(bus, 'publish', (orig) => async (...args) => {
        const [name, message] = args as unknown as [string, string];
        const start = Date.now();
        await orig(...args);
        if (bus.channel(name) === p.channel) p.published.push({ start, end: Date.now(), message });
      }),
    );
    const sub = (bus as unknown as { sub: EventEmitter }).sub;
    const onMessage = (channel: string) => channel === p.channel && p.received.push(Date.now());
    sub.prependListener('message', onMessage);
    p.undo.push(() => sub.off('message', onMessage));
    // Added after the subscription service's handler: runs when its delivery loop is done.
    const unsubscribe = await bus.subscribe(tenantChannel(tenantId), () => {
      p.delivered.push(Date.now());
      setImmediate(() => p.written.push(Date.now()));
    });
    p.undo.push(() => void unsubscribe());
    return p;
  }

  detach(): void {
    for (const u of this.undo.splice(0).reverse()) u();
  }

  /**
   * The decomposition of the burst's events (warm-ups left out): for each point on the way,
   * the time from the event's `at` to it, median and maximum over the events, ms.
   */
  report(receipts: Receipts): string {
    const after = (list: number[], t: number) => list.find((x) => x >= t) ?? NaN;
    const stages: Record<string, number[]> = {};
    const add = (name: string, v: number) => (stages[name] ??= []).push(v);
    let events = 0;
    const ats: number[] = [];
    const sizes: number[] = [];
    for (const [k, pub] of this.published.entries()) {
      const batch = JSON.parse(pub.message) as LoggedEvent[];
      const stamp = [...this.stamps].reverse().find((s) => s.start <= pub.start);
      let size = 0;
      for (const e of batch) {
        const p = e.payload as { at?: string; taskId?: string; state?: string };
        if (e.type !== 'JOB' || !p.at || p.taskId === WARM_UP) continue;
        const at = Date.parse(p.at);
        const commit = after(this.commits, at);
        // The NOTIFY reaches the relay as the commit does, often before the committing
        // caller's promise resolves: the first one after the event's `at`.
        const notified = after(this.notified, at);
        const r = receipts[`${p.taskId}|${p.state}`];
        events += 1;
        size += 1;
        ats.push(at);
        add('group commit done', commit - at);
        add('relay notified', notified - at);
        add('stamp begins', (stamp?.start ?? NaN) - at);
        add('stamped', (stamp?.end ?? NaN) - at);
        add('published', pub.end - at);
        add('api receipt', this.received[k] - at);
        add('delivery loop done', this.delivered[k] - at);
        add('next turn of the loop', this.written[k] - at);
        add('first sampled client receipt', r ? r[0] - at : NaN);
        add('last sampled client receipt', r ? r[1] - at : NaN);
      }
      if (size > 0) sizes.push(size);
    }
    const parts = Object.entries(stages).map(([name, v]) => {
      const ok = v.filter((x) => !Number.isNaN(x));
      return `${name} ${fmt(median(ok))} / ${fmt(Math.max(...ok))}`;
    });
    const spread = Math.max(...ats) - Math.min(...ats);
    const counts = `${this.published.length} published, ${this.received.length} received, ${this.delivered.length} delivered`;
    return `decomposition of the burst (${events} events in ${sizes.length} published batches of ${Math.min(...sizes)}–${Math.max(...sizes)} (median ${median(sizes)}), their \`at\` spread over ${fmt(spread)} ms; messages with warm-ups: ${counts}; ms from each event's \`at\` to each point, median / max over the events): ${parts.join('; ')}.`;
  }
}
