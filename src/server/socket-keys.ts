import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Principal } from '../core/policy';
import { isOutageError } from '../errors/outage';
import { CoalescedTask } from '../lib/coalesced-task';
import type { ApiKeyService } from '../services/api-key.service';

/** WebSocket close code of a socket whose API key was revoked. */
export const WS_KEY_REVOKED = 4403;

/**
 * The open sockets of each API key, closed once the key is revoked. A revocation reaches
 * every api process on the bus (API_KEY_REVOKED), but a process can miss that message: its
 * subscriber connection was away from Redis, or the revoking process could not publish.
 * So the keys of the open sockets are also checked against Postgres every `recheckMs`
 * (one statement for all of them) and as soon as the bus connection is back: a revoked
 * key's subscriptions stop within that time even then, as its HTTP requests do once its
 * cached check (AUTH_CACHE_MS) runs out. A socket opened with an attempt token (a remote
 * executor's) is not an API key's: it is closed once its token expires, at the same checks.
 */
export class SocketKeys {
  private readonly byKey = new Map<string, Set<WebSocket>>();
  /** Sockets of attempt tokens, with when each token expires (epoch ms). */
  private readonly attempts = new Map<WebSocket, number>();
  private readonly check: CoalescedTask;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly apiKeys: ApiKeyService,
    log: Logger,
    recheckMs: number,
  ) {
    this.check = new CoalescedTask(
      async () => {
        const now = Date.now();
        for (const [socket, until] of this.attempts)
          if (until <= now) socket.close(WS_KEY_REVOKED, 'attempt token expired');
        const ids = [...this.byKey.keys()];
        if (ids.length === 0) return false;
        const live = await this.apiKeys.unrevoked(ids);
        for (const id of ids) if (!live.has(id)) this.revoked(id);
        return false;
      },
      (err) =>
        isOutageError(err)
          ? log.warn({ err: String(err) }, 'open sockets’ keys not checked: store unavailable')
          : log.error({ err }, 'open sockets’ keys not checked'),
    );
    this.timer = setInterval(() => void this.check.run(), recheckMs);
    this.timer.unref();
  }

  /** A socket authenticated as `principal`, until it closes. */
  add(principal: Principal, socket: WebSocket, onClose: () => void): void {
    if (principal.attempt) {
      this.attempts.set(socket, principal.attempt.expiresAt);
      socket.once('close', () => {
        this.attempts.delete(socket);
        onClose();
      });
      return;
    }
    const keyId = principal.apiKeyId;
    let set = this.byKey.get(keyId);
    if (!set) this.byKey.set(keyId, (set = new Set()));
    set.add(socket);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0 && this.byKey.get(keyId) === set) this.byKey.delete(keyId);
      onClose();
    });
  }

  /** The key is revoked: forget its cached check and close its sockets. */
  revoked(keyId: string): void {
    this.apiKeys.forget(keyId);
    for (const socket of this.byKey.get(keyId) ?? []) socket.close(WS_KEY_REVOKED, 'API key revoked');
    this.byKey.delete(keyId);
  }

  /** Check the open sockets' keys now (coalesced with a check under way). */
  recheck(): Promise<void> {
    return this.check.run();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.check.idle();
  }
}
