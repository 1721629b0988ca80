import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from '../graphql/generated/graphql';

export interface GqlError {
  message: string;
  extensions?: { code?: string; [k: string]: unknown };
}

/** A GraphQL answer with errors, thrown: the message of the first, its code kept. */
export class GqlRequestError extends Error {
  constructor(
    readonly errors: GqlError[],
    readonly status: number,
  ) {
    super(errors.map((e) => e.message).join('; ') || `HTTP ${status}`);
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

/**
 * The dashboard's one way to the API: typed documents (codegen's client preset) over
 * fetch with the key as Bearer, and subscriptions over graphql-ws with the key in
 * connectionParams (as src/server/ws.ts reads it). Same origin only.
 */
export class Api {
  private ws: Client | null = null;

  constructor(readonly key: string) {}

  async request<R, V>(doc: TypedDocumentString<R, V>, variables?: V): Promise<R> {
    const res = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${this.key}`,
      },
      body: JSON.stringify({ query: doc.toString(), variables: variables ?? {} }),
    });
    let body: { data?: R; errors?: GqlError[] };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new GqlRequestError([{ message: `HTTP ${res.status}` }], res.status);
    }
    if (body.errors?.length) throw new GqlRequestError(body.errors, res.status);
    if (!body.data) throw new GqlRequestError([{ message: 'no data' }], res.status);
    return body.data;
  }

  /**
   * graphql-ws, connected on first use. It does not retry by itself (it would resend each
   * subscription with its first variables): `subscribe` asks again with the latest cursor.
   */
  socket(): Client {
    if (!this.ws) {
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      this.ws = createClient({
        url: `${proto}//${location.host}/graphql`,
        connectionParams: { authorization: `Bearer ${this.key}` },
        retryAttempts: 0,
      });
    }
    return this.ws;
  }

  /**
   * Subscribe to a subscription document: `next` gets each result's data. The variables are
   * read again at each (re)subscription, so a caller passes the last cursor it saw as `after`.
   */
  subscribe<R, V>(
    doc: TypedDocumentString<R, V>,
    variables: () => V,
    next: (data: R) => void,
    onError?: (err: unknown) => void,
  ): () => void {
    let stopped = false;
    let failures = 0;
    let unsubscribe: (() => void) | null = null;
    const start = () => {
      if (stopped) return;
      unsubscribe = this.socket().subscribe<R>(
        { query: doc.toString(), variables: variables() as Record<string, unknown> },
        {
          next: (r) => {
            failures = 0;
            if (r.data) next(r.data);
          },
          error: (err) => {
            onError?.(err);
            // A lost socket, a restart, 4409 (slow subscriber): asked again from the last cursor.
            setTimeout(start, Math.min(10_000, 250 * 2 ** failures++));
          },
          complete: () => undefined,
        },
      );
    };
    start();
    return () => {
      stopped = true;
      unsubscribe?.();
    };
  }

  close(): void {
    void this.ws?.dispose();
    this.ws = null;
  }
}
