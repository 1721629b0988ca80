/**
 * Runs `batch` until it reports nothing more to do; calls made while it runs do not start
 * a second loop but make the running one go round once more. Errors go to `onError`.
 */
export class CoalescedTask {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly batch: () => Promise<boolean>,
    private readonly onError: (err: unknown) => void,
  ) {}

  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (await this.batch());
        } while (this.again);
      } catch (err) {
        this.onError(err);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Resolves when the current run (if any) is over. */
  async idle(): Promise<void> {
    await this.running;
  }
}
