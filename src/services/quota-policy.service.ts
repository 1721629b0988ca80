import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { OPEN_POLICY, parseQuotaPolicy, QuotaPolicyError, type QuotaPolicy } from '../core/quota-policy';

/**
 * The operator's QUOTAS_FILE, re-read on SIGHUP and every minute. A file that does not
 * parse or validate keeps the last good policy; the error is logged with file and key.
 */
export class QuotaPolicyService {
  private current: QuotaPolicy = OPEN_POLICY;
  private timer: NodeJS.Timeout | undefined;
  private readonly onHup = () => void this.reload();

  constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
    private readonly reloadMs = 60_000,
  ) {}

  get policy(): QuotaPolicy {
    return this.current;
  }

  /** Fair share is on (QUOTAS_FILE set): claims are serialised and queues kept shallow. */
  get enabled(): boolean {
    return this.file !== undefined;
  }

  /** Read the file now; false (and the last good policy kept) when it is bad. */
  async reload(): Promise<boolean> {
    if (!this.file) return true;
    try {
      const text = await readFile(this.file, 'utf8');
      this.current = parseQuotaPolicy(text, this.file);
      return true;
    } catch (err) {
      const e = err instanceof QuotaPolicyError ? err : new QuotaPolicyError(this.file, '', (err as Error).message);
      this.log.error(
        { file: e.file, key: e.key, err: e.message },
        `QUOTAS_FILE ${e.file} rejected at ${e.key || '(root)'}: keeping the last good policy`,
      );
      return false;
    }
  }

  /** First read, then SIGHUP and the minute timer. */
  async start(): Promise<void> {
    if (!this.file) return;
    await this.reload();
    process.on('SIGHUP', this.onHup);
    this.timer = setInterval(this.onHup, this.reloadMs);
    this.timer.unref();
  }

  stop(): void {
    process.off('SIGHUP', this.onHup);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
