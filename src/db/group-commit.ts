/** What `flush` says of one item: its value, or the error that item alone ends with. */
export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted while a flush is running wait for it and then go
 * together in the next flush (at most `maxBatch` at a time), so a burst of N concurrent
 * callers costs a few transactions instead of N, each waiting for its own WAL flush and
 * row locks. An item submitted when fewer than `maxInFlight` flushes run is flushed at
 * once: no timer, no added latency when the load is light. More than one flush in flight
 * pays only when the flushes do not queue on each other's row locks (issue 18: batches no
 * longer write the DAG row); each then overlaps the others' statements and WAL flushes.
 */
export class GroupCommit<I, O> {
  private queue: Array<Pending<I, O>> = [];
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /** Flushes run and items they carried, since start (what the benchmarks report). */
  readonly stats = { flushes: 0, items: 0 };

  constructor(
    private readonly flush: (items: I[]) => Promise<Array<Settled<O>>>,
    private readonly maxBatch = 256,
    private readonly maxInFlight = 1,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when nothing is queued or being flushed. */
  async idle(): Promise<void> {
    while (this.inFlight > 0 || this.queue.length > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async run(batch: Array<Pending<I, O>>): Promise<void> {
    this.stats.flushes += 1;
    this.stats.items += batch.length;
    let settled: Array<Settled<O>>;
    try {
      settled = await this.flush(batch.map((p) => p.item));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const s = settled[i];
      if (!s) p.reject(new Error('group commit: no result for an item'));
      else if (s.ok) p.resolve(s.value);
      else p.reject(s.error);
    });
  }
}
