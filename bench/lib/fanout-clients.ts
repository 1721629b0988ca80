/**
 * The fanout scenario's subscribers, in a process of their own (forked by
 * bench/scenarios/fanout.ts through vite-node, with an IPC channel): so that the 1,000
 * client sockets, which parse every frame, do not share the server's event loop. It opens
 * the sockets it is told to (graphql-ws clients of the API, or bare `ws` sockets of the
 * baseline server), spread round-robin over the given URLs, records each frame's delivery
 * latency (receipt − the time in the frame; one wall clock, one machine) and hands the
 * latencies back when asked.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { WARM_UP } from './clients-process';

export type ClientsCommand =
  | {
      type: 'open';
      kind: 'graphql-ws';
      urls: string[];
      clients: number;
      key: string;
      query: string;
      variables: Record<string, unknown>;
    }
  | { type: 'open'; kind: 'bare'; urls: string[]; clients: number }
  | { type: 'collect'; expected: number; timeoutMs: number }
  /** How many subscribers have received a warm-up event (taskId WARM_UP), after up to `timeoutMs`. */
  | { type: 'warmed'; timeoutMs: number }
  | { type: 'close' };

export type ClientsReport =
  | { type: 'ready' }
  | { type: 'failed'; error: string }
  | { type: 'warmed'; subscribers: number }
  | {
      type: 'result';
      latencies: number[];
      perClient: number;
      frameBytes: number;
      errors: string[];
      /** graphql-ws subscribers: when each event (`taskId|state`) first and last reached every 50th of them. */
      receipts: Record<string, [number, number]>;
    };

const send = (m: ClientsReport) => process.send?.(m);

const latencies: number[] = [];
let got: number[] = [];
let warm: number[] = [];
let frameBytes = 0;
const errors: string[] = [];
const receipts: Record<string, [number, number]> = {};
const gql: Client[] = [];
const bare: WebSocket[] = [];

/** Sockets opened at once: a thousand key checks together would wait on the api's pool. */
const WAVE = 100;

const closeText = (e: unknown) => {
  const c = e as { code?: number; reason?: string };
  return c.code !== undefined ? `close ${c.code} ${c.reason ?? ''}` : JSON.stringify(e);
};

/** Which subscribers' receipts of each event are kept (i % RECEIPT_SAMPLE === 0): first and last of them. */
const RECEIPT_SAMPLE = 50;

type JobEvent = { at: string; taskId: string; state?: string };

/**
 * An event's `at` in ms, parsed once per distinct text: the events of one commit share it,
 * and a Date.parse per frame would cost our frames what the bare baseline's (a number) do not.
 */
const ats = new Map<string, number>();
function atMs(at: string): number {
  let ms = ats.get(at);
  if (ms === undefined) ats.set(at, (ms = Date.parse(at)));
  return ms;
}

/** A `next` of subscriber `i`: a warm-up, or a delivery to measure. */
function record(i: number, e: JobEvent | undefined, bytes: () => number): void {
  if (e?.taskId === WARM_UP) {
    warm[i] += 1;
    return;
  }
  if (e?.at) {
    const now = Date.now();
    latencies.push(now - atMs(e.at));
    // Every 50th subscriber's receipts stand for all (kept off the other frames' path).
    if (i % RECEIPT_SAMPLE === 0) {
      const k = `${e.taskId}|${e.state}`;
      const r = receipts[k];
      if (!r) receipts[k] = [now, now];
      else receipts[k] = [Math.min(r[0], now), Math.max(r[1], now)];
    }
  }
  if (!frameBytes) frameBytes = bytes();
  got[i] += 1;
}

let closing = false;

/**
 * The subscription on a bare `ws` socket speaking the graphql-transport-ws messages it
 * needs by hand (the default), so that each frame costs the clients process what a bare
 * baseline frame does (one JSON.parse), where graphql-ws's client library
 * (FANOUT_CLIENT=graphql-ws) also validates every message and hands it through its sinks.
 */
function openProtocol(c: Extract<ClientsCommand, { kind: 'graphql-ws' }>, i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let acked = false;
    const ws = new WebSocket(c.urls[i % c.urls.length], 'graphql-transport-ws');
    bare.push(ws);
    ws.once('error', reject);
    ws.once('open', () =>
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${c.key}` } })),
    );
    ws.once('close', (code: number, reason: Buffer) => {
      if (!acked) reject(new Error(`socket ${i} closed before it connected: close ${code} ${reason.toString()}`));
      else if (!closing) errors.push(`close ${code} ${reason.toString()}`);
    });
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      const m = JSON.parse(text) as { type: string; payload?: { data?: { jobStatusChanged?: JobEvent } } };
      if (m.type === 'next') record(i, m.payload?.data?.jobStatusChanged, () => text.length);
      else if (m.type === 'connection_ack') {
        acked = true;
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: c.query, variables: c.variables } }));
        resolve();
      } else if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
      else if (m.type === 'error') errors.push(text.slice(0, 300));
    });
  });
}

function openOne(c: Extract<ClientsCommand, { kind: 'graphql-ws' }>, i: number): Promise<void> {
  if (process.env.FANOUT_CLIENT !== 'graphql-ws') return openProtocol(c, i);
  return new Promise((resolve, reject) => {
    let connected = false;
    const client = createClient({
      url: c.urls[i % c.urls.length],
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      connectionParams: { authorization: `Bearer ${c.key}` },
      on: {
        connected: () => {
          connected = true;
          resolve();
        },
        closed: (e) => {
          if (!connected) reject(new Error(`socket ${i} closed before it connected: ${closeText(e)}`));
        },
      },
    });
    gql.push(client);
    client.subscribe<{ jobStatusChanged: JobEvent }>(
      { query: c.query, variables: c.variables },
      {
        next: (m) => record(i, m.data?.jobStatusChanged, () => JSON.stringify(m).length + 40),
        error: (e) => errors.push(closeText(e).slice(0, 300)),
        complete: () => undefined,
      },
    );
  });
}

async function openGraphqlWs(c: Extract<ClientsCommand, { kind: 'graphql-ws' }>): Promise<void> {
  for (let from = 0; from < c.clients; from += WAVE) {
    const wave = Array.from({ length: Math.min(WAVE, c.clients - from) }, (_, k) => openOne(c, from + k));
    await Promise.all(wave);
  }
}

async function openBare(c: Extract<ClientsCommand, { kind: 'bare' }>): Promise<void> {
  await Promise.all(
    Array.from({ length: c.clients }, async (_, i) => {
      const ws = new WebSocket(c.urls[i % c.urls.length]);
      bare.push(ws);
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        const m = JSON.parse(text) as { payload: { data: { sentAt: number } } };
        latencies.push(Date.now() - m.payload.data.sentAt);
        if (!frameBytes) frameBytes = text.length;
        got[i] += 1;
      });
      await new Promise<void>((r, j) => {
        ws.once('open', () => r());
        ws.once('error', j);
      });
    }),
  );
}

async function collect(expected: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (latencies.length < expected && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  send({ type: 'result', latencies, perClient: Math.max(0, ...got), frameBytes, errors, receipts });
}

async function warmed(timeoutMs: number): Promise<void> {
  const count = () => warm.filter((n) => n > 0).length;
  const end = Date.now() + timeoutMs;
  while (count() < warm.length && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  send({ type: 'warmed', subscribers: count() });
}

async function close(): Promise<void> {
  closing = true;
  await Promise.all(gql.map(async (c) => c.dispose()));
  for (const ws of bare) ws.terminate();
  process.disconnect?.();
  process.exit(0);
}

process.on('message', (m: ClientsCommand) => {
  if (m.type === 'open') {
    got = new Array<number>(m.clients).fill(0);
    warm = new Array<number>(m.clients).fill(0);
    const opened = m.kind === 'bare' ? openBare(m) : openGraphqlWs(m);
    opened.then(
      () => send({ type: 'ready' }),
      (err: unknown) => send({ type: 'failed', error: String(err) }),
    );
  } else if (m.type === 'collect') void collect(m.expected, m.timeoutMs);
  else if (m.type === 'warmed') void warmed(m.timeoutMs);
  else void close();
});
// The parent gone (a crashed benchmark): do not linger with a thousand sockets.
process.on('disconnect', () => process.exit(0));
