import { rows as sqlRows } from '../db/sql';
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { progressOf } from './engine/dag-transitions';
import type { DagRow } from './dag.service';

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
  ) {}

  async sweep(limit = 20): Promise<number> {
    const unit = this.config.timings.retryDelayUnitMs;
    const due: DagRow[] = await sqlRows(
      this.ds,
      `UPDATE dags d SET callback_next_at = now() + interval '5 minutes', callback_attempts = d.callback_attempts + 1
       FROM (SELECT tenant_id, id FROM dags WHERE callback_state = 'PENDING' AND callback_next_at <= now()
             ORDER BY callback_next_at LIMIT $1 FOR UPDATE SKIP LOCKED) c
       WHERE d.tenant_id = c.tenant_id AND d.id = c.id RETURNING d.*`,
      [limit],
    );
    await Promise.all(
      due.map(async (d) => {
        const error = await this.deliver(d);
        if (error === null) {
          await this.ds.query(
            `UPDATE dags SET callback_state = 'DELIVERED', callback_delivered_at = now(), callback_last_error = NULL, callback_next_at = NULL
             WHERE tenant_id = $1 AND id = $2`,
            [d.tenant_id, d.id],
          );
          return;
        }
        const exhausted = d.callback_attempts >= MAX_CALLBACK_ATTEMPTS;
        const backoffMs = unit * 2 ** d.callback_attempts;
        await this.ds.query(
          `UPDATE dags SET callback_last_error = $3, callback_state = $4,
             callback_next_at = CASE WHEN $4 = 'PENDING' THEN now() + make_interval(secs => $5::double precision / 1000) ELSE NULL END
           WHERE tenant_id = $1 AND id = $2`,
          [d.tenant_id, d.id, error.slice(0, 1000), exhausted ? 'FAILED' : 'PENDING', backoffMs],
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
