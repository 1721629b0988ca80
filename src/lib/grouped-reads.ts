interface Waiter<V> {
  keys: readonly string[];
  resolve: (found: Map<string, V>) => void;
  reject: (err: unknown) => void;
}

interface Group<V> {
  inFlight: number;
  waiting: Waiter<V>[];
  /** A read is due at the end of this turn of the event loop (setImmediate). */
  due: boolean;
}

/**
 * Reads by key, shared across requests: the calls of one group (a tenant) made in one turn
 * of the event loop (every request whose body arrived in it) go out together as one read
 * at the end of that turn (setImmediate: no timer, a lone caller waits microseconds); when
 * `maxInFlight` reads of the group are running, calls wait for one to end and then go out
 * together. A read holds up to `maxKeys` keys (a caller's keys are never split). Under
 * load, fifty concurrent `asset(key)` requests cost a few statements instead of fifty.
 * Each read starts after every call it answers was made, so a caller sees every write
 * committed before its call. Each caller gets only its own keys; a failed read fails the
 * calls it answers, and only those.
 */
export class GroupedReads<V> {
  private readonly groups = new Map<string, Group<V>>();

  constructor(
    private readonly read: (group: string, keys: string[]) => Promise<Map<string, V>>,
    private readonly maxInFlight = 2,
    private readonly maxKeys = 1000,
  ) {}

  load(group: string, keys: readonly string[]): Promise<Map<string, V>> {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = { inFlight: 0, waiting: [], due: false }));
    const promise = new Promise<Map<string, V>>((resolve, reject) => g.waiting.push({ keys, resolve, reject }));
    if (!g.due && g.inFlight < this.maxInFlight) {
      g.due = true;
      setImmediate(() => {
        g.due = false;
        this.next(group, g);
      });
    }
    return promise;
  }

  /** Groups with reads running or waiting (a group is forgotten when it has neither). */
  get activeGroups(): number {
    return this.groups.size;
  }

  private next(group: string, g: Group<V>): void {
    if (!g.waiting.length) {
      if (!g.inFlight && !g.due) this.groups.delete(group);
      return;
    }
    if (g.inFlight >= this.maxInFlight) return;
    const batch: Waiter<V>[] = [];
    const keys = new Set<string>();
    while (g.waiting.length && (!batch.length || keys.size + g.waiting[0].keys.length <= this.maxKeys)) {
      const w = g.waiting.shift() as Waiter<V>;
      batch.push(w);
      for (const k of w.keys) keys.add(k);
    }
    g.inFlight += 1;
    this.read(group, [...keys])
      .then(
        (found) => {
          for (const w of batch) {
            const own = new Map<string, V>();
            for (const k of w.keys) {
              const v = found.get(k);
              if (v !== undefined) own.set(k, v);
            }
            w.resolve(own);
          }
        },
        (err: unknown) => {
          for (const w of batch) w.reject(err);
        },
      )
      .finally(() => {
        g.inFlight -= 1;
        this.next(group, g);
      });
  }
}
