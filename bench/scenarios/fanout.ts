import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { buildAppSchema } from '../../src/server/build-schema';
import { WebSocketServer } from 'ws';
import { appendEvents, type NewEvent } from '../../src/events/event-log';
import { ClientsProcess, WARM_UP } from '../lib/clients-process';
import { FanoutProbe } from '../lib/fanout-probe';
import { fmt, loopLag, median, p99 } from '../lib/stats';
import { roleProcessEnv, SUBMIT_DAG, waitForDag, type BenchApp, type BenchEnv } from '../lib/env';
import { pick, type ResultRow, type Scenario } from '../lib/scenario';
import { startWorkerProcesses, stopProcesses } from '../lib/worker-processes';

const JOB_EVENTS = `subscription($id: ID!) { jobStatusChanged(dagId: $id) { cursor dagId taskId state at } }`;
const ROOT = path.resolve(__dirname, '../..');

interface Delivery {
  latencies: number[];
  lost: number;
  /** The benchmark process's event-loop lag (the server's, where it runs there). */
  lag: { p99: number; max: number };
  frameBytes: number;
  perClient: number;
  /** Set-up 1: where the burst's time went (bench/lib/fanout-probe.ts). */
  decomposition?: string;
}

/**
 * How the bare baseline sends and counts: `paced`, one event per turn of the event loop (the
 * best case); `burst`, all at once, as a burst would be sent; each counted from its frame's
 * own send. `burst-from-start` and `corked-from-start` (each socket's frames in one write,
 * as ours writes them) count from the burst's first send, as ours counts from the events' `at`.
 */
type BareMode = 'paced' | 'burst' | 'burst-from-start' | 'corked-from-start';

/** What each bare mode's diagnostic row says it measured (`events` frames a socket). */
const BARE_ROWS: Array<[BareMode, (events: number) => string]> = [
  ['paced', () => 'one frame per turn of the loop'],
  ['burst', (events) => `the same ${events} frames sent at once`],
  [
    'burst-from-start',
    (events) =>
      `the same ${events} frames sent at once, delivery counted from the burst's first send (as ours counts from the events' \`at\`)`,
  ],
  [
    'corked-from-start',
    (events) => `each socket's ${events} frames in one write (corked), delivery counted from the burst's first send`,
  ],
];

/**
 * A bare `ws` server (in this process) broadcasting `events` frames (the size of ours) to
 * `clients` sockets held by a clients process, as our subscribers are, sent as `mode` says.
 */
async function bareBroadcast(clients: number, events: number, frameBytes: number, mode: BareMode): Promise<Delivery> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as AddressInfo).port;
  const proc = new ClientsProcess();
  try {
    await proc.open({ type: 'open', kind: 'bare', urls: [`ws://127.0.0.1:${port}`], clients });
    const pad = 'x'.repeat(Math.max(0, frameBytes - 120));
    const lag = loopLag();
    const start = Date.now();
    const frameOf = (e: number) =>
      JSON.stringify({
        id: 'sub',
        type: 'next',
        payload: { data: { sentAt: mode.endsWith('-from-start') ? start : Date.now(), e, pad } },
      });
    if (mode === 'corked-from-start') {
      // Each socket's frames of the burst in one write (what FrameQueue does for ours).
      const frames = Array.from({ length: events }, (_, e) => frameOf(e));
      for (const ws of wss.clients) {
        const raw = (ws as unknown as { _socket: import('node:net').Socket })._socket;
        raw.cork();
        for (const f of frames) ws.send(f);
        raw.uncork();
      }
    } else
      for (let e = 0; e < events; e += 1) {
        const frame = frameOf(e);
        for (const ws of wss.clients) ws.send(frame);
        if (mode === 'paced') await new Promise((r) => setImmediate(r));
      }
    const r = await proc.collect(clients * events, 30_000);
    return { ...r, lost: clients * events - r.latencies.length, lag: lag.stop() };
  } finally {
    await proc.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
}

/** Whether this build's schema has `Subscription.jobStatusChanged` (introspection is off in production). */
function hasSubscriptions(): boolean {
  const fields = buildAppSchema().getSubscriptionType()?.getFields() ?? {};
  return 'jobStatusChanged' in fields;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** An api instance as deployed (`node dist/src/main.js --role api`) on the benchmark's database, Redis and prefix. */
async function spawnApi(env: BenchEnv): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  // FANOUT_API_NODE_ARGS: node options for the api processes (e.g. --cpu-prof to profile them).
  const nodeArgs = process.env.FANOUT_API_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist/src/main.js'), '--role', 'api'], {
    cwd: ROOT,
    stdio: 'ignore',
    env: roleProcessEnv(env, { PORT: String(port), HOST: '127.0.0.1', GRAPHQL_MAX_COST: '10000000' }),
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`api process exited with ${child.exitCode} (npm run build first?)`);
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url: `ws://127.0.0.1:${port}/graphql`, child };
    if (Date.now() > deadline) throw new Error('api process not ready in 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function gqlAt(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  key: string,
): Promise<{ submitDag: { id: string } }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: { submitDag: { id: string } }; errors?: unknown[] };
  if (!body.data || body.errors?.length)
    throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data;
}

/** How the subscribers reach the server(s). */
export interface SetUp {
  name: string;
  /** api instances spawned as processes; 0: the api role in the benchmark process. */
  apiProcesses: number;
  /** The worker role in a process of its own (as workers run on their own hosts), not in the benchmark's. */
  workerProcess?: boolean;
}

export const SETUPS: SetUp[] = [
  { name: 'one api, in the benchmark process with the scheduler (relay) and worker', apiProcesses: 0 },
  { name: 'one api process; scheduler (relay) and worker in the benchmark process', apiProcesses: 1 },
  {
    name: 'two api processes, subscribers split evenly; scheduler (relay) and worker in the benchmark process',
    apiProcesses: 2,
  },
  {
    name: 'one api with the scheduler (relay) in the benchmark process; the worker in a process of its own',
    apiProcesses: 0,
    workerProcess: true,
  },
];

/**
 * `clients` graphql-ws subscribers (in a clients process; bench/lib/fanout-clients.ts) to one DAG's job events;
 * `events` events from `events / 2` noop jobs (ACTIVE, COMPLETED) released at once.
 */
async function ours(env: BenchEnv, setUp: SetUp, clients: number, events: number): Promise<Delivery> {
  const roles: ('api' | 'scheduler' | 'worker')[] = ['scheduler'];
  if (setUp.apiProcesses === 0) roles.push('api');
  if (!setUp.workerProcess) roles.push('worker');
  const b: BenchApp = await env.startApp(roles);
  const apis: ChildProcess[] = [];
  const proc = new ClientsProcess();
  let probe: FanoutProbe | null = null;
  try {
    if (setUp.workerProcess) apis.push(...(await startWorkerProcesses(env, 1, 'fanout-worker-', 128)));
    const { key, tenantId } = await b.tenant();
    const urls: string[] = [];
    if (setUp.apiProcesses === 0) urls.push(b.wsUrl);
    for (let i = 0; i < setUp.apiProcesses; i += 1) {
      const a = await spawnApi(env);
      apis.push(a.child);
      urls.push(a.url);
    }
    const jobs = Array.from({ length: events / 2 }, (_, i) => ({
      id: `f${i}`,
      name: 'noop',
      executor: 'noop',
      startAfter: new Date(Date.now() + 3_600_000).toISOString(),
    }));
    const d = await gqlAt(urls[0].replace(/^ws/, 'http'), SUBMIT_DAG, { input: { name: 'fanout', jobs } }, key);
    const dagId = d.submitDag.id;
    await proc.open({
      type: 'open',
      kind: 'graphql-ws',
      urls,
      clients,
      key,
      query: JOB_EVENTS,
      variables: { id: dagId },
    });
    // After the subscribes: the probe's handler runs after the subscription service's.
    probe = setUp.apiProcesses === 0 ? await FanoutProbe.attach(b.app, tenantId) : null;
    // Every subscription live before the burst: warm-up events (not measured) until each
    // subscriber has received one; the api processes have then also worked off the subscribes.
    for (let tries = 0; ; tries += 1) {
      const warmUp: NewEvent = {
        type: 'JOB',
        dagId,
        payload: { dagId, taskId: WARM_UP, name: WARM_UP, state: 'ACTIVE', tryNumber: 1 },
      };
      await b.app.services.ds.transaction((m) => appendEvents(m, tenantId, [warmUp]));
      const live = await proc.warmed(5_000);
      if (live === clients) break;
      if (tries === 10) throw new Error(`only ${live} of ${clients} subscriptions live`);
    }
    await new Promise((r) => setTimeout(r, 500));
    const lag = loopLag();
    await env.pg.query(`UPDATE jobs SET run_after = now() WHERE tenant_id = $1 AND dag_id = $2`, [tenantId, dagId]);
    await b.app.services.dispatcher.kick();
    await waitForDag(env.pg, dagId, 60_000);
    const expected = clients * events;
    const r = await proc.collect(expected, 10_000);
    const l = lag.stop();
    if (r.errors.length) throw new Error(`subscription errors: ${r.errors[0]}`);
    const decomposition = probe?.report(r.receipts);
    return { ...r, lost: expected - r.latencies.length, lag: l, decomposition };
  } finally {
    probe?.detach();
    await proc.close();
    await stopProcesses(apis);
    await b.stop();
  }
}

const spread = (d: Delivery) => {
  const min = d.latencies.reduce((a, x) => Math.min(a, x), Infinity);
  const max = d.latencies.reduce((a, x) => Math.max(a, x), -Infinity);
  return { min, p50: median(d.latencies), p99: p99(d.latencies), max };
};

export const fanout: Scenario = {
  name: 'fanout',
  ours: '1,000 graphql-ws subscribers (one socket each, in a clients process of their own; each speaks graphql-ws’s protocol, graphql-transport-ws, by hand on a bare `ws` socket, one JSON.parse per frame as the baseline’s clients do; FANOUT_CLIENT=graphql-ws: graphql-ws’s client library) to `jobStatusChanged(dagId)` of one DAG; 100 events (50 noop jobs × ACTIVE, COMPLETED) released at once; delivery = receipt time − the event’s `at`; measured in four set-ups (one api in the benchmark process; one api process; two api processes sharing the subscribers; one api with the scheduler in the benchmark process and the worker in a process of its own), the best one in the first row',
  baseline:
    'a bare `ws` server (in the benchmark process) broadcasting 100 frames of the same size to 1,000 sockets held by the same kind of clients process, one frame per turn of the event loop; delivery = receipt − send time. Diagnostic rows send the same frames all at once, counted from each frame’s send and from the burst’s first send (as ours counts from the events’ `at`), and corked (each socket’s 100 frames in one write, as ours writes them), counted from the burst’s first send: the floor of this machine for a whole burst',
  anchor: 'target p99 delivery ≤ 100 ms, none lost, in the best set-up (described); event-loop lag reported',
  whenMissed:
    'Delivery counts from the event’s `at` (set inside the engine’s transaction) to receipt in the clients process: the commit, the relay’s pick-up, Redis pub/sub and 100,000 frames (100 events × 1,000 sockets) written by the api and parsed by the graphql-ws clients, all on the same cores. The api executes each event once per distinct operation and writes its frames to all the subscribers’ sockets in one synchronous loop (src/server/shared-subscribe.ts, ws-push.ts: one Buffer per frame, the shared payload copied behind the subscriber’s id, one `writev` per socket and tick); what it still spends per frame is that copy and write, the kernel’s `writev`, and the clients’ parsing on the same cores (the subscribers do the bare clients’ per-frame work; graphql-ws’s client library, FANOUT_CLIENT=graphql-ws, does more). The bare `ws` rows show what the same sockets and clients cost without GraphQL on the same machine at the same moment: read ours against them, not against 100 ms, on a loaded machine; their delivery counts from each frame’s own send, so the last frames of their burst do not carry the wait behind the first ones, which ours do. Set-up 4 (the worker in a process of its own, as on separate hosts) gets the burst to the api in a few large batches: the delivery loop is done some 50–90 ms after the events’ `at`, but the sockets’ writes end 180 ms later and the one clients process receives its last frames 400–580 ms after `at`: 100,000 frames handed over loopback TCP and parsed on the same two cores. The corked bare row measures that floor alone: a server that does nothing but write each socket’s 100 frames in one write (no database, no Redis, no GraphQL) has its last frames received some 290 ms after its first send on this machine (2026-12-02, two runs: p99 293 ms), and sent frame by frame, as `ws` does, 1.2–1.3 s: one clients process parses 100,000 frames on the two cores the server shares. The 100 ms target is below what a bare server reaches here for a burst released at once; ours is read against the corked row, and our events reach the api spread over the burst’s commits, which is why the best set-up can land under it.',
  async run(env) {
    const clients = pick(env.opts.size, { tiny: 20, quick: 1000, full: 1000 });
    const events = pick(env.opts.size, { tiny: 10, quick: 100, full: 100 });
    const rows: ResultRow[] = [];
    const notes: string[] = [];
    let frameBytes = 400;
    const target = `p99 delivery ms, ${clients} subscribers × ${events} events (lost)`;
    if (!hasSubscriptions()) {
      rows.push({
        metric: target,
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
      // FANOUT_SETUPS=0,2 runs only those set-ups (by index), for quicker comparisons.
      const only = process.env.FANOUT_SETUPS?.split(',').map(Number);
      const measured: { setUp: SetUp; d: Delivery }[] = [];
      for (const [i, setUp] of SETUPS.entries()) {
        if (only && !only.includes(i)) continue;
        const d = await ours(env, setUp, clients, events);
        measured.push({ setUp, d });
        frameBytes = d.frameBytes || frameBytes;
      }
      const score = (d: Delivery) => (d.lost > 0 ? Infinity : p99(d.latencies));
      const best = measured.reduce((a, m) => (score(m.d) < score(a.d) ? m : a));
      const b = spread(best.d);
      rows.push({
        metric: `${target}; best set-up: ${best.setUp.name}`,
        ours: `${fmt(b.p99)} (${best.d.lost} lost)`,
        baseline: '',
        ratio: '',
        target: '≤ 100 ms, none lost',
        verdict: b.p99 <= 100 && best.d.lost === 0 ? 'met' : 'missed',
      });
      for (const m of measured) {
        const s = spread(m.d);
        rows.push({
          metric: `diagnostic: ${m.setUp.name}: delivery p50 / p99 / max ms (lost); benchmark-process loop lag p99 / max ms`,
          ours: `${fmt(s.p50)} / ${fmt(s.p99)} / ${fmt(s.max)} (${m.d.lost} lost); ${fmt(m.d.lag.p99)} / ${fmt(m.d.lag.max)}`,
          baseline: '',
          ratio: '',
          target: '',
          verdict: 'info',
        });
        notes.push(
          `${m.setUp.name}: each subscriber received up to ${m.d.perClient} events; frames about ${m.d.frameBytes} bytes; delivery min / p50 / p99 / max ms: ${fmt(s.min)} / ${fmt(s.p50)} / ${fmt(s.p99)} / ${fmt(s.max)}; ${m.d.lost} lost.`,
        );
        if (m.d.decomposition) notes.push(`${m.setUp.name}: ${m.d.decomposition}`);
      }
    }
    for (const [mode, what] of BARE_ROWS) {
      const d = await bareBroadcast(clients, events, frameBytes, mode);
      const x = spread(d);
      if (mode === 'paced' && rows[0]) rows[0].baseline = `${fmt(x.p99)} (${d.lost} lost)`;
      rows.push({
        metric: `diagnostic: bare ws, ${what(events)}: p50 / p99 / max ms (lost)`,
        ours: '',
        baseline: `${fmt(x.p50)} / ${fmt(x.p99)} / ${fmt(x.max)} (${d.lost} lost)`,
        ratio: '',
        target: '',
        verdict: 'info',
      });
    }
    return { rows, notes };
  },
};
