import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorCallContext } from '../src/core/executor-call';
import { RemoteExecutor } from '../src/worker/remote';
import { waitFor } from './support/dag-helpers';

// The worker side of the protocol against a scripted HTTP server: how each kind of answer
// ends a call (the e2e files run the same through submitDag with the Python SDK).
interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}
const seen: Seen[] = [];
const closed: string[] = [];
let server: http.Server;
let base: string;
/** What the server answers for a path (`/_marie/status` answers healthy). */
const answers = new Map<string, (res: http.ServerResponse) => void>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: raw ? JSON.parse(raw) : null,
      });
      res.on('close', () => {
        if (!res.writableFinished) closed.push(req.url ?? '');
      });
      const answer = answers.get(req.url ?? '');
      if (answer) return answer(res);
      if (req.url === '/_marie/status') return json(res, 200, { executors: ['x'], gpus: [], healthy: true });
      json(res, 404, { error: { message: 'nothing here', nonRetryable: true } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function json(res: http.ServerResponse, status: number, body: unknown, type = 'application/json') {
  const raw = JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(raw) });
  res.end(raw);
}

function context(endpoint: string, signal = new AbortController().signal) {
  const progress: Array<[number, string | undefined]> = [];
  const ctx: ExecutorCallContext = {
    tenantId: 't',
    dagId: 'd',
    dagName: 'dn',
    jobId: 'job-1',
    taskId: 'task',
    tryNumber: 2,
    partitionKey: null,
    endpoint,
    signal,
    dispatch: 1,
    apiUrl: 'http://api/graphql',
    progress: async (p, m) => {
      progress.push([p, m]);
    },
    assets: {
      dagId: 'd',
      nodeTaskId: 'task',
      upstream: async () => [],
      record: async () => ({ ok: true, materializationIds: [], alreadyRecorded: 0 }),
    },
    attemptToken: () => 'mat_test.token',
  };
  return { ctx, progress };
}

const remote = (more: { timeoutSeconds?: number } = {}) =>
  new RemoteExecutor({ name: 'x', with: { url: base, statusIntervalSeconds: 60, ...more } });

const failure = async (p: Promise<unknown>) => {
  const err = (await p.catch((e: unknown) => e)) as Error & { nonRetryable?: boolean };
  expect(err).toBeInstanceOf(Error);
  return { message: err.message, nonRetryable: err.nonRetryable === true };
};

describe('RemoteExecutor (sdk protocol) against a scripted server', () => {
  it('streams NDJSON progress into the job, then takes the output line', async () => {
    answers.set('/stream', (res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"progress": {"percent": 25, "message": "a"}}\n{"progress": {"percent": 75}}\n');
      setTimeout(() => res.end('{"output": {"done": true}}\n'), 20);
    });
    const r = remote();
    const { ctx, progress } = context('/stream');
    await expect(r.invoke({ x: 1 }, ctx)).resolves.toEqual({ done: true });
    expect(progress).toEqual([
      [25, 'a'],
      [75, undefined],
    ]);
    const call = seen.find((s) => s.url === '/stream')!;
    expect(call.headers.authorization).toBe('Bearer mat_test.token');
    expect(call.body).toMatchObject({ data: { x: 1 }, context: { jobId: 'job-1', tryNumber: 2, endpoint: '/stream' } });
    await r.close();
  });

  it('an error line, or an error body, decides retry by its nonRetryable, else by the status', async () => {
    answers.set('/err-line', (res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end('{"progress": {"percent": 5}}\n{"error": {"message": "bad page", "nonRetryable": true}}\n');
    });
    answers.set('/500-final', (res) => json(res, 500, { error: { message: 'gave up', nonRetryable: true } }));
    answers.set('/422-retry', (res) => json(res, 422, { error: { message: 'try again', nonRetryable: false } }));
    answers.set('/400', (res) => json(res, 400, { error: { message: 'malformed' } }));
    answers.set('/503', (res) => json(res, 503, { error: { message: 'busy' } }));
    const r = remote();
    expect(await failure(r.invoke(null, context('/err-line').ctx))).toEqual({
      message: 'executor "x" answered 200: bad page',
      nonRetryable: true,
    });
    expect(await failure(r.invoke(null, context('/500-final').ctx))).toMatchObject({ nonRetryable: true });
    expect(await failure(r.invoke(null, context('/422-retry').ctx))).toMatchObject({ nonRetryable: false });
    expect(await failure(r.invoke(null, context('/400').ctx))).toEqual({
      message: 'executor "x" answered 400: malformed',
      nonRetryable: true,
    });
    expect(await failure(r.invoke(null, context('/503').ctx))).toMatchObject({ nonRetryable: false });
    await r.close();
  });

  it('a call over timeoutSeconds is a failed attempt to retry', async () => {
    answers.set('/slow', (res) => setTimeout(() => json(res, 200, { output: 'late' }), 3_000));
    const r = remote({ timeoutSeconds: 0.3 });
    expect(await failure(r.invoke(null, context('/slow').ctx))).toEqual({
      message: 'no answer within 0.3 s (timeoutSeconds)',
      nonRetryable: false,
    });
    await r.close();
  });

  it('a cancel closes the connection and POSTs {url}/_marie/cancel {jobId, tryNumber}', async () => {
    answers.set('/hang', () => undefined);
    answers.set('/_marie/cancel', (res) => json(res, 200, { cancelled: 1 }));
    const r = remote();
    const abort = new AbortController();
    const call = r.invoke(null, context('/hang', abort.signal).ctx);
    await waitFor(async () => seen.some((s) => s.url === '/hang'), 10_000, 'the call to arrive');
    abort.abort(new Error('cancelled'));
    expect(await failure(call)).toEqual({ message: 'cancelled', nonRetryable: false });
    await waitFor(async () => closed.includes('/hang'), 10_000, 'the call connection to close');
    const cancel = await waitFor(async () => seen.find((s) => s.url === '/_marie/cancel'), 10_000, 'the cancel');
    expect(cancel).toMatchObject({ method: 'POST', body: { jobId: 'job-1', tryNumber: 2 } });
    await r.close();
  });
});
