import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { clientEnv } from '../config/config';

/** A failure the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Where the client commands send their requests, and with which key. */
export interface Server {
  /** http(s)://host:port/graphql */
  url: string;
  key: string;
}

export const DEFAULT_URL = 'http://localhost:4000/graphql';
export const CREDENTIALS_FILE = 'credentials.json';

/** `http://host:4000` or `http://host:4000/graphql` → the GraphQL endpoint. */
export function graphqlUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(`not a URL: ${raw} (expected e.g. ${DEFAULT_URL})`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(`not an http(s) URL: ${raw}`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/graphql';
  return u.toString();
}

/** The WebSocket endpoint of a GraphQL URL (same host and path). */
export const wsUrl = (url: string): string => url.replace(/^http/, 'ws');

export const credentialsPath = (): string => path.join(clientEnv().configDir, CREDENTIALS_FILE);

/** MARIE_URL and MARIE_KEY, each falling back to what `marie login` stored. */
export function resolveServer(): Server {
  const env = clientEnv();
  let stored: Partial<Server> = {};
  const file = path.join(env.configDir, CREDENTIALS_FILE);
  if (existsSync(file)) {
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<Server>;
    } catch {
      throw new CliError(`${file} is not valid JSON: run marie login again`);
    }
  }
  const key = env.key ?? stored.key;
  if (!key) throw new CliError('no API key: set MARIE_KEY or run marie login');
  return { url: graphqlUrl(env.url ?? stored.url ?? DEFAULT_URL), key };
}

interface GqlError {
  message: string;
  extensions?: { code?: string };
}

/** `CODE: message` of a GraphQL error, the way every command reports one. */
export const describeError = (e: GqlError): string => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`;

function unreachable(url: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code === 'ECONNREFUSED' ? 'connection refused' : (cause?.code ?? cause?.message ?? String(err));
  return new CliError(`cannot reach ${url}: ${why}`);
}

/** One GraphQL request; any error (HTTP, GraphQL, network) becomes a CliError. */
export async function gql<T>(server: Server, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    throw unreachable(server.url, err);
  }
  let body: { data?: T | null; errors?: GqlError[] };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new CliError(`${server.url} answered HTTP ${res.status} without GraphQL (is it a Marie server?)`);
  }
  if (body.errors?.length) throw new CliError(describeError(body.errors[0]));
  if (!body.data) throw new CliError(`${server.url} answered HTTP ${res.status} without data`);
  return body.data;
}
