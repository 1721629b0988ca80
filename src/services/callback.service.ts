import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { progressOf } from './engine/dag-transitions';
import type { DagRow } from './dag.service';
import type { DagsRepository } from '../repositories/dags.repository';

export const MAX_CALLBACK_ATTEMPTS = 6;

/** HMAC-SHA256 over `<timestamp>.<body>`, as sent in X-Marie-Signature. */
export function signCallback(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * DAG-end callbacks: a POST of the final state, signed, retried with exponential backoff
 * until delivered or out of attempts. Claimed with SKIP LOCKED so several schedulers
 * never send the same attempt twice.
 */
export class CallbackService {
  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly log: Logger,
    private readonly repo: DagsRepository,
  ) {}

  async sweep(limit = 20): Promise<number> {
    const unit = this.config.timings.retryDelayUnitMs;
    const due = await this.repo.claimDueCallbacks(this.ds, limit);
    await Promise.all(
      due.map(async (d) => {
        const error = await this.deliver(d);
        if (error === null) {
          await this.repo.callbackDelivered(this.ds, d.tenant_id, d.id);
          return;
        }
        const exhausted = d.callback_attempts >= MAX_CALLBACK_ATTEMPTS;
        const backoffMs = unit * 2 ** d.callback_attempts;
        await this.repo.callbackFailed(
          this.ds,
          d.tenant_id,
          d.id,
          error.slice(0, 1000),
          exhausted ? 'FAILED' : 'PENDING',
          backoffMs,
        );
        this.log.warn({ dagId: d.id, attempt: d.callback_attempts, error }, 'callback failed');
      }),
    );
    return due.length;
  }

  /** null when delivered (2xx), else why not. */
  private async deliver(d: DagRow): Promise<string | null> {
    if (!d.callback_url || !this.config.callbackSecret) return 'no callback URL or secret';
    const body = JSON.stringify({
      dagId: d.id,
      name: d.name,
      state: d.state,
      progress: progressOf(d),
      createdAt: d.created_at,
      completedAt: d.completed_at,
    });
    const timestamp = String(Date.now());
    try {
      const res = await fetch(d.callback_url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'marie-control-plane',
          'x-marie-timestamp': timestamp,
          'x-marie-signature': signCallback(this.config.callbackSecret, timestamp, body),
        },
        body,
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }
}
