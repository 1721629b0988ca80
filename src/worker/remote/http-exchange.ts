import http from 'node:http';
import https from 'node:https';

/** A remote call that did not give a result: `nonRetryable` fails the job at once. */
export class RemoteCallError extends Error {
  constructor(
    message: string,
    readonly nonRetryable: boolean,
    /** The request never reached the remote (its connection was refused or not made). */
    readonly notSent = false,
  ) {
    super(message);
    this.name = 'RemoteCallError';
  }
}

export interface ExchangeOptions {
  method: 'GET' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Aborting closes the connection; the exchange rejects with the signal's reason. */
  signal?: AbortSignal;
  /** For `application/x-ndjson` answers: each complete line, as it arrives (not kept in `text`). */
  onLine?(line: string): void;
}

export interface Exchanged {
  status: number;
  contentType: string;
  /** The body (for NDJSON answers: what followed the last newline). */
  text: string;
}

/** Connection-level failures: the remote is down or went away (a failed attempt, retried). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** Of those, the ones where no connection was made: the request was never sent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Keep-alive agents: one per remote executor, reused across its calls (no connect per call). */
export function keepAliveAgent(url: URL, maxSockets: number): http.Agent {
  const opts = { keepAlive: true, keepAliveMsecs: 1_000, maxSockets, maxFreeSockets: maxSockets };
  return url.protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts);
}

/**
 * One HTTP request and its whole answer over `agent`. A reused keep-alive connection that
 * the remote had closed meanwhile (reset before any answer) is retried once on a new one;
 * any other connection failure, the timeout or the signal rejects.
 */
export async function exchange(agent: http.Agent, opts: ExchangeOptions): Promise<Exchanged> {
  try {
    return await exchangeOnce(agent, opts);
  } catch (err) {
    if (!(err as { staleSocket?: boolean }).staleSocket) throw err;
    // The first request may have reached the remote (it can die mid-call as well as close an
    // idle connection): whatever the second one meets, the call is not "never sent".
    return exchangeOnce(agent, opts).catch((e: unknown) => {
      throw e instanceof RemoteCallError && e.notSent ? new RemoteCallError(e.message, e.nonRetryable) : e;
    });
  }
}

function exchangeOnce(agent: http.Agent, opts: ExchangeOptions): Promise<Exchanged> {
  const { signal } = opts;
  return new Promise<Exchanged>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const lib = opts.url.protocol === 'https:' ? https : http;
    let answered = false;
    let settled = false;
    const finish = (err: Error | null, value?: Exchanged) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value!);
    };
    const req = lib.request(opts.url, {
      method: opts.method,
      agent,
      headers: {
        ...(opts.body !== undefined
          ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(opts.body)) }
          : {}),
        ...opts.headers,
      },
    });
    const timer = setTimeout(() => {
      const err = new RemoteCallError(`no answer within ${opts.timeoutMs / 1000} s (timeoutSeconds)`, false);
      req.destroy(err);
      finish(err);
    }, opts.timeoutMs);
    const onAbort = () => {
      req.destroy();
      finish((signal?.reason as Error) ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      const code = err.code ?? '';
      const gone = NETWORK_CODES.has(code) || err.message === 'socket hang up';
      const e = new RemoteCallError(
        gone ? `the remote executor is unreachable or went away (${code || err.message})` : err.message,
        false,
        NOT_SENT_CODES.has(code) && !req.reusedSocket,
      ) as RemoteCallError & { staleSocket?: boolean };
      if (req.reusedSocket && !answered && (code === 'ECONNRESET' || code === 'EPIPE')) e.staleSocket = true;
      finish(e);
    });
    req.on('response', (res) => {
      answered = true;
      const contentType = String(res.headers['content-type'] ?? '');
      const ndjson = !!opts.onLine && contentType.includes('ndjson');
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (chunk: string) => {
        text += chunk;
        if (!ndjson) return;
        let nl: number;
        while ((nl = text.indexOf('\n')) >= 0) {
          const line = text.slice(0, nl).trim();
          text = text.slice(nl + 1);
          if (line) opts.onLine!(line);
        }
      });
      res.on('end', () => {
        if (ndjson && text.trim()) {
          opts.onLine!(text.trim());
          text = '';
        }
        finish(null, { status: res.statusCode ?? 0, contentType, text });
      });
      res.on('error', (err) => finish(new RemoteCallError(`the answer broke off: ${err.message}`, false)));
      res.on('close', () => {
        if (!res.complete) finish(new RemoteCallError('the remote executor went away mid-answer', false));
      });
    });
    req.end(opts.body);
  });
}
