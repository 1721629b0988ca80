import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import { buildAppSchema } from '../../src/server/build-schema';
import WebSocket, { WebSocketServer } from 'ws';
import { fmt, loopLag, median, p99, waitForCount } from '../lib/stats';
import { SUBMIT_DAG, waitForDag, type BenchApp } from '../lib/env';
import { pick, type ResultRow, type Scenario } from '../lib/scenario';

const JOB_EVENTS = `subscription($id: ID!) { jobStatusChanged(dagId: $id) { cursor dagId taskId state at } }`;

interface Delivery {
  latencies: number[];
  lost: number;
  lag: { p99: number; max: number };
  rssMb: number;
}

const rssMb = () => process.memoryUsage().rss / 2 ** 20;

/**
 * A bare `ws` server broadcasting `events` frames (the size of ours) to `clients` sockets:
 * `paced`, one event per turn of the event loop (the best case); else all at once, as a
 * burst of events arriving together would be sent.
 */
async function bareBroadcast(clients: number, events: number, frameBytes: number, paced: boolean): Promise<Delivery> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as AddressInfo).port;
  const latencies: number[] = [];
  const got = new Array<number>(clients).fill(0);
  const sockets: WebSocket[] = [];
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`);
        sockets.push(ws);
        ws.on('message', (data: Buffer) => {
          const m = JSON.parse(data.toString()) as { payload: { data: { sentAt: number } } };
          latencies.push(Date.now() - m.payload.data.sentAt);
          got[c] += 1;
        });
        await new Promise<void>((r, j) => {
          ws.once('open', () => r());
          ws.once('error', j);
        });
      }),
    );
    const pad = 'x'.repeat(Math.max(0, frameBytes - 120));
    const lag = loopLag();
    for (let e = 0; e < events; e += 1) {
      const frame = JSON.stringify({ id: 'sub', type: 'next', payload: { data: { sentAt: Date.now(), e, pad } } });
      for (const ws of wss.clients) ws.send(frame);
      if (paced) await new Promise((r) => setImmediate(r));
    }
    await waitForCount(() => latencies.length, clients * events, 30_000).catch(() => undefined);
    const rss = rssMb();
    return { latencies, lost: clients * events - latencies.length, lag: lag.stop(), rssMb: rss };
  } finally {
    for (const ws of sockets) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
}

/** Whether this build's schema has `Subscription.jobStatusChanged` (introspection is off in production). */
function hasSubscriptions(): boolean {
  const fields = buildAppSchema().getSubscriptionType()?.getFields() ?? {};
  return 'jobStatusChanged' in fields;
}

/** 1,000 graphql-ws subscribers to one DAG's job events; `events` events from `events / 2` noop jobs (ACTIVE, COMPLETED). */
async function ours(
  env: Parameters<Scenario['run']>[0],
  b: BenchApp,
  key: string,
  tenantId: string,
  clients: number,
  events: number,
): Promise<Delivery & { frameBytes: number; perClient: number }> {
  const jobs = Array.from({ length: events / 2 }, (_, i) => ({
    id: `f${i}`,
    name: 'noop',
    executor: 'noop',
    startAfter: new Date(Date.now() + 3_600_000).toISOString(),
  }));
  const d = await b.gql(SUBMIT_DAG, { input: { name: 'fanout', jobs } }, key);
  const dagId = d.submitDag.id as string;
  const latencies: number[] = [];
  const got = new Array<number>(clients).fill(0);
  let frameBytes = 0;
  const errors: unknown[] = [];
  const list: Client[] = [];
  let connected = 0;
  try {
    for (let c = 0; c < clients; c += 1) {
      const client = createClient({
        url: b.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams: { authorization: `Bearer ${key}` },
        on: { connected: () => (connected += 1) },
      });
      list.push(client);
      client.subscribe<{ jobStatusChanged: { at: string } }>(
        { query: JOB_EVENTS, variables: { id: dagId } },
        {
          next: (m) => {
            const at = m.data?.jobStatusChanged.at;
            if (at) latencies.push(Date.now() - Date.parse(at));
            if (!frameBytes) frameBytes = JSON.stringify(m).length + 40;
            got[c] += 1;
          },
          error: (e) => errors.push(e),
          complete: () => undefined,
        },
      );
    }
    await waitForCount(() => connected, clients, 60_000);
    await new Promise((r) => setTimeout(r, 1000)); // let every subscribe message be registered
    const lag = loopLag();
    await env.pg.query(`UPDATE jobs SET run_after = now() WHERE tenant_id = $1 AND dag_id = $2`, [tenantId, dagId]);
    await b.app.services.dispatcher.kick();
    await waitForDag(env.pg, dagId, 60_000);
    const expected = clients * events;
    await waitForCount(() => latencies.length, expected, 10_000).catch(() => undefined);
    const l = lag.stop();
    if (errors.length) throw new Error(`subscription errors: ${JSON.stringify(errors[0]).slice(0, 300)}`);
    const perClient = Math.max(...got);
    return { latencies, lost: expected - latencies.length, lag: l, rssMb: rssMb(), frameBytes, perClient };
  } finally {
    await Promise.all(list.map(async (c) => c.dispose()));
  }
}

export const fanout: Scenario = {
  name: 'fanout',
  ours: '1,000 graphql-ws subscribers (one socket each, in the benchmark process) to `jobStatusChanged(dagId)` of one DAG; 100 events (50 noop jobs × ACTIVE, COMPLETED) released at once; delivery = receipt time − the event’s `at`',
  baseline:
    'a bare `ws` server broadcasting 100 frames of the same size to 1,000 sockets, one frame per turn of the event loop; delivery = receipt − send time (a diagnostic row sends the same frames all at once)',
  anchor: 'target p99 delivery ≤ 100 ms, none lost; event-loop lag and RSS reported',
  whenMissed:
    'Delivery latency counts from the event’s `at` (set inside the engine’s transaction) to receipt, so it includes the commit, the relay’s pick-up from `event_log` and Redis pub/sub, besides the broadcast; the 1,000 client sockets (graphql-ws clients, which parse and validate every frame) live in the benchmark process and share its event loop and the machine’s two cores with the server. The engine group-commits its transitions, so the 50 jobs’ 100 events commit within a few milliseconds and reach the server as one burst: the first frames arrive within tens of milliseconds and the rest over the next few hundred (min / p50 / max in the line above): 100,000 frames at a few microseconds each, server and clients together. The paced bare baseline never has a burst to work through (it yields between events and measures each frame from its own send); the diagnostic row sends the same 100 frames at once and takes several times longer than we do, because graphql-ws paces each subscriber by waiting for its previous frame’s write. Profiled, no single cost dominates (socket writes, the clients’ parsing, promise hops per frame); serialising each shared result once for all subscribers cut `JSON.stringify` time by half but did not move the p99, so it was not kept. Meeting 100 ms for a 100-event burst to 1,000 subscribers needs fewer frames (batching several events into one frame per subscriber, a protocol change for clients) or the subscribers on more cores (several API instances: the relay already fans out through Redis).',
  async run(env) {
    const clients = pick(env.opts.size, { tiny: 20, quick: 1000, full: 1000 });
    const events = pick(env.opts.size, { tiny: 10, quick: 100, full: 100 });
    const b = await env.startApp(['api', 'scheduler', 'worker']);
    const rows: ResultRow[] = [];
    const notes: string[] = [];
    let frameBytes = 400;
    try {
      const t = await b.tenant();
      if (!hasSubscriptions()) {
        rows.push({
          metric: `p99 delivery ms, ${clients} subscribers × ${events} events`,
          ours: 'skipped',
          baseline: '',
          ratio: '',
          target: '≤ 100 ms, none lost',
          verdict: 'skipped',
        });
        notes.push(
          'skipped: subscriptions not available in this build (the schema has no `Subscription.jobStatusChanged`).',
        );
      } else {
        const o = await ours(env, b, t.key, t.tenantId, clients, events);
        frameBytes = o.frameBytes || frameBytes;
        rows.push({
          metric: `p99 delivery ms, ${clients} subscribers × ${events} events (lost)`,
          ours: `${fmt(p99(o.latencies))} (${o.lost} lost)`,
          baseline: '',
          ratio: '',
          target: '≤ 100 ms, none lost',
          verdict: p99(o.latencies) <= 100 && o.lost === 0 ? 'met' : 'missed',
        });
        rows.push({
          metric: 'event-loop lag p99 / max ms; RSS MiB',
          ours: `${fmt(o.lag.p99)} / ${fmt(o.lag.max)}; ${fmt(o.rssMb, 0)}`,
          baseline: '',
          ratio: '',
          target: 'reported',
          verdict: 'info',
        });
        notes.push(
          `Each subscriber received up to ${o.perClient} events; frames about ${o.frameBytes} bytes. Our delivery latencies, min / p50 / max ms: ${fmt(o.latencies.reduce((a, x) => Math.min(a, x), Infinity))} / ${fmt(median(o.latencies))} / ${fmt(o.latencies.reduce((a, x) => Math.max(a, x), -Infinity))}.`,
        );
      }
    } finally {
      await b.stop();
    }
    const bare = await bareBroadcast(clients, events, frameBytes, true);
    const burst = await bareBroadcast(clients, events, frameBytes, false);
    rows.push({
      metric: `diagnostic: bare ws, the same ${events} frames sent at once: p99 delivery ms (lost); loop lag p99 ms`,
      ours: '',
      baseline: `${fmt(p99(burst.latencies))} (${burst.lost} lost); ${fmt(burst.lag.p99)}`,
      ratio: '',
      target: '',
      verdict: 'info',
    });
    const fill = (r: ResultRow | undefined, text: string) => {
      if (r) r.baseline = text;
    };
    if (rows[0]?.verdict === 'skipped') {
      rows.push({
        metric: 'bare ws: p99 delivery ms (lost); loop lag p99 / max ms; RSS MiB',
        ours: '',
        baseline: `${fmt(p99(bare.latencies))} (${bare.lost} lost); ${fmt(bare.lag.p99)} / ${fmt(bare.lag.max)}; ${fmt(bare.rssMb, 0)}`,
        ratio: '',
        target: '',
        verdict: 'info',
      });
    } else {
      fill(rows[0], `${fmt(p99(bare.latencies))} (${bare.lost} lost)`);
      fill(rows[1], `${fmt(bare.lag.p99)} / ${fmt(bare.lag.max)}; ${fmt(bare.rssMb, 0)}`);
    }
    return { rows, notes };
  },
};
