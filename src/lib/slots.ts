/**
 * A fixed number of slots: `take` waits for one, `tryTake` takes one only if one is free
 * and no one waits. A slot given back goes to the longest waiter first, so those that do
 * not wait never pass over those that do.
 */
export class Slots {
  private held = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly size: number) {}

  tryTake(): boolean {
    if (this.held >= this.size || this.waiters.length > 0) return false;
    this.held += 1;
    return true;
  }

  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Give a slot back: to the first waiter, else free. */
  give(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held -= 1;
  }
}
