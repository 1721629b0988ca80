import type http from 'node:http';
import { z } from 'zod';
import type { GpuInfo, RemoteExecutorStatus } from '../../core/bus-channels';
import { NotStartedError, type ExecutorCallContext, type ExecutorInvoker } from '../../core/executor-call';
import { exchange, keepAliveAgent, RemoteCallError } from './http-exchange';
import { readStatus } from './remote-status';

/** `with:` of `jtype: RemoteExecutor` (DESIGN.md "Remote executors"). */
export const remoteWithSchema = z.strictObject({
  url: z
    .string()
    .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'an http(s) URL without query, e.g. http://gpu-box:8080'),
  protocol: z.enum(['sdk', 'marie']).default('sdk'),
  timeoutSeconds: z.number().positive().max(604_800).default(600),
  statusIntervalSeconds: z.number().positive().max(86_400).default(10),
});
export type RemoteWith = z.infer<typeof remoteWithSchema>;

export interface RemoteExecutorOptions {
  name: string;
  /** Checked (and defaulted) by remoteWithSchema. */
  with: z.input<typeof remoteWithSchema>;
  concurrency?: number;
  requiresGpu?: boolean;
}

export interface RemoteLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Answers that fail the job at once unless their error says otherwise. */
const NON_RETRYABLE_STATUS = new Set([400, 404, 422]);

interface ErrorBody {
  message?: unknown;
  nonRetryable?: unknown;
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

const errorOf = (body: unknown): ErrorBody | null => {
  const e = body && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  return e && typeof e === 'object' ? e : null;
};

/**
 * An executor in another process, reached over HTTP (`sdk` or `marie` protocol). The
 * worker consumes its queues, holds the lease and reports the outcome as for a local one;
 * this makes the call, and keeps the remote's health and GPUs from its status route.
 */
export class RemoteExecutor implements ExecutorInvoker {
  readonly name: string;
  readonly concurrency: number;
  readonly requiresGpu: boolean;
  readonly url: string;
  readonly protocol: 'sdk' | 'marie';
  readonly timeoutMs: number;
  readonly statusIntervalMs: number;
  private readonly agent: http.Agent;
  private state: RemoteExecutorStatus;
  private readonly listeners = new Set<(s: RemoteExecutorStatus) => void>();
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<RemoteExecutorStatus> | null = null;
  private closed = false;
  private log: RemoteLog | null = null;

  constructor(opts: RemoteExecutorOptions) {
    const w = remoteWithSchema.parse(opts.with);
    this.name = opts.name;
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
    this.requiresGpu = opts.requiresGpu ?? false;
    this.url = w.url.replace(/\/+$/, '');
    this.protocol = w.protocol;
    this.timeoutMs = w.timeoutSeconds * 1000;
    this.statusIntervalMs = w.statusIntervalSeconds * 1000;
    this.agent = keepAliveAgent(new URL(this.url), this.concurrency + 2);
    this.state = {
      url: this.url,
      protocol: this.protocol,
      reachable: false,
      healthy: false,
      gpus: [],
      codeVersion: null,
      executors: [],
      checkedAt: null,
      error: 'not checked yet',
    };
  }

  /** The last status check's answer. */
  get status(): RemoteExecutorStatus {
    return this.state;
  }

  get healthy(): boolean {
    return this.state.healthy;
  }

  /** The code version its last `/_marie/status` reported: its jobs' cache keys are computed with it. */
  get codeVersion(): string | null {
    return this.state.codeVersion;
  }

  /** Healthy with at least one GPU: it takes `requiresGpu` jobs. */
  get hasGpu(): boolean {
    return this.state.healthy && this.state.gpus.length > 0;
  }

  get gpus(): GpuInfo[] {
    return this.state.healthy ? this.state.gpus : [];
  }

  /** Told after every check whose health or GPU count differs from the one before. */
  onChange(fn: (s: RemoteExecutorStatus) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Check the status now, then every statusIntervalSeconds until close(). */
  async start(log: RemoteLog): Promise<void> {
    this.log = log;
    await this.checkNow();
    const tick = () => {
      if (this.closed) return;
      void this.checkNow().finally(() => {
        if (!this.closed) this.timer = setTimeout(tick, this.statusIntervalMs);
      });
    };
    this.timer = setTimeout(tick, this.statusIntervalMs);
  }

  /** One status check at a time, shared by whoever asks meanwhile. */
  checkNow(): Promise<RemoteExecutorStatus> {
    this.checking ??= readStatus(this.agent, this.url, this.protocol, Math.min(5_000, this.statusIntervalMs))
      .then((found) => {
        const before = this.state;
        this.state = { ...found, url: this.url, protocol: this.protocol, checkedAt: new Date().toISOString() };
        if (before.healthy !== this.state.healthy || before.gpus.length !== this.state.gpus.length) {
          if (this.state.healthy)
            this.log?.info(
              { executor: this.name, url: this.url, gpus: this.state.gpus.length },
              'remote executor healthy: its queues run on this worker',
            );
          else
            this.log?.warn(
              { executor: this.name, url: this.url, error: this.state.error },
              'remote executor unreachable or unhealthy: its queues pause on this worker',
            );
          for (const fn of this.listeners) fn(this.state);
        }
        return this.state;
      })
      .finally(() => {
        this.checking = null;
      });
    return this.checking;
  }

  async invoke(data: unknown, ctx: ExecutorCallContext): Promise<unknown> {
    const endpoint = ctx.endpoint.trim().replace(/^\/+/, '');
    const url = new URL(`${this.url}/${endpoint}`);
    const deadline = new Date(Date.now() + this.timeoutMs);
    const headers: Record<string, string> = {};
    let body: string;
    if (this.protocol === 'sdk') {
      const token = ctx.attemptToken?.(deadline);
      if (!token) throw new RemoteCallError(`executor "${this.name}": this worker mints no attempt tokens`, false);
      headers.authorization = `Bearer ${token}`;
      const upstream = await ctx.assets.upstream();
      body = JSON.stringify({
        data: data ?? null,
        context: {
          tenantId: ctx.tenantId,
          dagId: ctx.dagId,
          dagName: ctx.dagName,
          jobId: ctx.jobId,
          taskId: ctx.taskId,
          tryNumber: ctx.tryNumber,
          partitionKey: ctx.partitionKey,
          endpoint: ctx.endpoint,
          deadline: deadline.toISOString(),
          apiUrl: ctx.apiUrl ?? null,
          upstream,
        },
      });
    } else {
      const d = (data && typeof data === 'object' ? data : {}) as { data?: unknown; parameters?: unknown };
      body = JSON.stringify({
        data: d.data ?? [],
        parameters: d.parameters ?? {},
        header: { request_id: `${ctx.jobId}.${ctx.tryNumber}.${ctx.dispatch ?? 1}` },
      });
    }

    // What the NDJSON lines said last (a result line, or an error line).
    const got: { result?: { output: unknown }; failure?: RemoteCallError } = {};
    let progress: Promise<void> = Promise.resolve();
    const onLine = (line: string) => {
      const obj = parseJson(line) as { progress?: { percent?: unknown; message?: unknown }; output?: unknown };
      if (!obj || typeof obj !== 'object') return;
      if (obj.progress && typeof obj.progress === 'object') {
        const percent = Number(obj.progress.percent);
        const message = typeof obj.progress.message === 'string' ? obj.progress.message : undefined;
        progress = progress
          .then(() => ctx.progress(Number.isFinite(percent) ? percent : 0, message))
          .catch((err: unknown) => this.log?.warn({ err, executor: this.name }, 'progress not recorded'));
      } else if ('output' in obj) got.result = { output: obj.output };
      else if (errorOf(obj)) got.failure = this.errorFrom(200, errorOf(obj), line);
    };
    let answer;
    try {
      answer = await exchange(this.agent, {
        method: 'POST',
        url,
        headers,
        body,
        timeoutMs: this.timeoutMs,
        signal: ctx.signal,
        onLine: this.protocol === 'sdk' ? onLine : undefined,
      });
    } catch (err) {
      if (ctx.signal.aborted) {
        this.cancelRemote(ctx);
        throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted');
      }
      // Refused, reset or timed out: its health now, before the failure (and its retry) is
      // reported, so this worker's queue pauses first when it is down.
      await this.checkNow();
      if (err instanceof RemoteCallError && err.notSent) this.handBackIfDown(err.message);
      throw err;
    }
    await progress;
    // The SDK's 503: the call was not started (the server is draining).
    if (answer.status === 503 && this.protocol === 'sdk') {
      await this.checkNow();
      const said = errorOf(parseJson(answer.text))?.message;
      this.handBackIfDown(`answered 503: ${typeof said === 'string' ? said : 'not started'}`);
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw this.errorFrom(answer.status, errorOf(parseJson(answer.text)), answer.text);
    }
    if (answer.contentType.includes('ndjson') && this.protocol === 'sdk') {
      if (got.failure) throw got.failure;
      if (got.result) return got.result.output;
      throw new RemoteCallError(`executor "${this.name}": the answer ended without an output or error line`, false);
    }
    const parsed = parseJson(answer.text);
    if (parsed === undefined || parsed === null || typeof parsed !== 'object') {
      throw new RemoteCallError(`executor "${this.name}": the answer is not a JSON object`, false);
    }
    if (this.protocol === 'marie') return (parsed as { data?: unknown }).data ?? null;
    if ('output' in parsed) return parsed.output ?? null;
    throw this.errorFrom(answer.status, errorOf(parsed), answer.text);
  }

  /**
   * A call the remote never started, while its status check now finds it down: the worker
   * hands the job back (the same try) and this executor's queue waits for it. A remote that
   * still says it is healthy gets a failed attempt instead, so a job cannot go round.
   */
  private handBackIfDown(why: string): void {
    if (!this.healthy)
      throw new NotStartedError(`executor "${this.name}" did not start the job and is down (${why}): handed back`);
  }

  private errorFrom(status: number, e: ErrorBody | null, text: string): RemoteCallError {
    const message = typeof e?.message === 'string' ? e.message : text.slice(0, 500) || 'no result';
    const nonRetryable = typeof e?.nonRetryable === 'boolean' ? e.nonRetryable : NON_RETRYABLE_STATUS.has(status);
    return new RemoteCallError(`executor "${this.name}" answered ${status}: ${message}`, nonRetryable);
  }

  /** Best effort: POST {url}/_marie/cancel {jobId, tryNumber} (the connection is closed already). */
  private cancelRemote(ctx: ExecutorCallContext): void {
    if (this.protocol !== 'sdk') return;
    exchange(this.agent, {
      method: 'POST',
      url: new URL(`${this.url}/_marie/cancel`),
      body: JSON.stringify({ jobId: ctx.jobId, tryNumber: ctx.tryNumber }),
      timeoutMs: 5_000,
    }).catch((err: unknown) =>
      this.log?.warn({ err: String(err), executor: this.name, jobId: ctx.jobId }, 'remote cancel not delivered'),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.checking?.catch(() => undefined);
    this.listeners.clear();
    this.agent.destroy();
  }
}
