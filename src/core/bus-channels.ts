import type { LoggedEvent } from './events';

/**
 * The bus (Redis pub/sub shared by every process), listed once: each channel, the message
 * it carries, and how that message is written on the wire. `RedisBus.send`/`listen` are
 * typed by this map; channel names are namespaced by the configured prefix on Redis.
 */

/** One GPU as a worker's probe sees it. */
export interface GpuInfo {
  index: number;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number | null;
  utilizationPercent: number | null;
}

export interface ExecutorStatusRequest {
  requestId: string;
  executor: string;
}

/** A worker's answer for one executor it hosts (no model call: its own bookkeeping). */
export interface ExecutorStatusReply {
  executor: string;
  workerId: string;
  status: 'ok' | 'unhealthy';
  activeJobs: number;
  concurrency: number;
  gpus: GpuInfo[];
  replicas: number;
  /** A remote executor: what its last status check found. */
  remote?: RemoteExecutorStatus;
}

/** What a worker last learnt of a remote executor it hosts (GET {url}/_marie/status). */
export interface RemoteExecutorStatus {
  url: string;
  protocol: 'sdk' | 'marie';
  /** It answered the last check. */
  reachable: boolean;
  /** Reachable and said healthy: its queues run on this worker. */
  healthy: boolean;
  gpus: GpuInfo[];
  codeVersion: string | null;
  /** The executors it serves, as it says. */
  executors: string[];
  checkedAt: string | null;
  /** Why it is unhealthy. */
  error: string | null;
}

/** Bus channel of API key revocations (the key id, as text): caches drop it, its sockets close. */
export const API_KEY_REVOKED = 'api-key-revoked';
/** Bus channel of cancelled jobs (their ids): the workers running them abort. */
export const CANCEL = 'cancel';
/** Bus channel of executor status requests; workers hosting the executor answer. */
export const EXECUTOR_STATUS_REQUEST = 'executor-status';
/** Bus channel a worker answers a status request on. */
export const executorStatusReplyChannel = (requestId: string) => `executor-status-reply:${requestId}` as const;
/** Bus channel of a tenant's events, in batches, as the relay publishes them. */
export const tenantChannel = (tenantId: string) => `events:${tenantId}` as const;

export interface BusMessages {
  [API_KEY_REVOKED]: string;
  [CANCEL]: string[];
  [EXECUTOR_STATUS_REQUEST]: ExecutorStatusRequest;
  [reply: `executor-status-reply:${string}`]: ExecutorStatusReply;
  [events: `events:${string}`]: LoggedEvent[];
}

export type BusChannel = keyof BusMessages & string;

/** How a channel's message is written on the wire; `decode` gives null for what it cannot read. */
export interface BusCodec<T> {
  encode(message: T): string;
  decode(raw: string): T | null;
}

const text: BusCodec<string> = { encode: (s) => s, decode: (s) => s };

const json = <T>(accept: (v: unknown) => boolean): BusCodec<T> => ({
  encode: (m) => JSON.stringify(m),
  decode: (raw) => {
    try {
      const v: unknown = JSON.parse(raw);
      return accept(v) ? (v as T) : null;
    } catch {
      return null;
    }
  },
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The codec of a channel (by name, or by prefix for the per-request and per-tenant ones). */
export function codecOf<C extends BusChannel>(channel: C): BusCodec<BusMessages[C]> {
  const codec: BusCodec<unknown> =
    channel === API_KEY_REVOKED
      ? text
      : channel === CANCEL
        ? json(Array.isArray)
        : channel === EXECUTOR_STATUS_REQUEST
          ? json((v) => isObject(v) && typeof v.requestId === 'string')
          : channel.startsWith('executor-status-reply:')
            ? json(isObject)
            : json(Array.isArray);
  return codec as BusCodec<BusMessages[C]>;
}
