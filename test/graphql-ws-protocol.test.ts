import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { submitDag } from './support/dag-helpers';
import { ok, startTestApp, type TestApp } from './support/test-app';

/**
 * The graphql-transport-ws protocol, driven by hand over a raw `ws` socket: the close
 * codes graphql-ws promises, Ping/Pong, and silence after Complete.
 */
interface Message {
  type: string;
  id?: string;
  payload?: unknown;
}

class RawSocket {
  readonly ws: WebSocket;
  readonly received: Message[] = [];
  private waiting: Array<(m: Message) => void> = [];
  private backlog: Message[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url, 'graphql-transport-ws');
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
    );
    this.ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString('utf8')) as Message;
      this.received.push(m);
      const w = this.waiting.shift();
      if (w) w(m);
      else this.backlog.push(m);
    });
  }

  send(m: Message | string): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** The next message from the server. */
  next(): Promise<Message> {
    const m = this.backlog.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The next message from the server for operation `id` (others are kept in `received`). */
  async nextFor(id: string): Promise<Message> {
    for (;;) {
      const m = await this.next();
      if (m.id === id) return m;
    }
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
  }
}

let t: TestApp;
let key: string;
const sockets: RawSocket[] = [];
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler'], env: { WS_CONNECTION_INIT_TIMEOUT_MS: '300' } });
  ({ key } = await t.tenant('submitter'));
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await t?.stop();
});

async function open(): Promise<RawSocket> {
  const s = new RawSocket(t.wsUrl);
  sockets.push(s);
  await s.opened;
  return s;
}

/** A socket past ConnectionInit/ConnectionAck with a valid key. */
async function acked(): Promise<RawSocket> {
  const s = await open();
  s.send({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } });
  expect(await s.next()).toMatchObject({ type: 'connection_ack' });
  return s;
}

const DAG_EVENTS = `subscription ($d: ID!) { dagStatusChanged(dagId: $d, after: "0") { dagId state } }`;

describe('graphql-ws close codes', () => {
  it('closes with 4400 on a message that is not JSON or not of the protocol', async () => {
    const a = await acked();
    a.send('this is not json');
    expect((await a.closed).code).toBe(4400);
    const b = await acked();
    b.send({ type: 'no_such_type' });
    expect((await b.closed).code).toBe(4400);
  });

  it('closes with 4401 on a Subscribe before ConnectionAck', async () => {
    const s = await open();
    s.send({ type: 'subscribe', id: '1', payload: { query: '{ __typename }' } });
    expect((await s.closed).code).toBe(4401);
  });

  it('closes with 4403 on a bad key', async () => {
    const s = await open();
    s.send({ type: 'connection_init', payload: { authorization: 'Bearer mk_not-a-key-000000000000000' } });
    expect((await s.closed).code).toBe(4403);
  });

  it('closes with 4408 when no ConnectionInit comes within WS_CONNECTION_INIT_TIMEOUT_MS', async () => {
    const s = await open();
    expect((await s.closed).code).toBe(4408);
    expect(s.received).toEqual([]);
  });

  it('closes with 4409 on a second Subscribe with an id in use', async () => {
    const s = await acked();
    const d = `ws-${randomUUID()}`;
    s.send({ type: 'subscribe', id: 'same', payload: { query: DAG_EVENTS, variables: { d } } });
    s.send({ type: 'subscribe', id: 'same', payload: { query: DAG_EVENTS, variables: { d } } });
    expect((await s.closed).code).toBe(4409);
  });

  it('closes with 4429 on a second ConnectionInit', async () => {
    const s = await acked();
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } });
    expect((await s.closed).code).toBe(4429);
  });
});

describe('graphql-ws messages', () => {
  it('answers Ping with Pong', async () => {
    const s = await acked();
    s.send({ type: 'ping' });
    expect(await s.next()).toEqual({ type: 'pong' });
  });

  it('sends nothing for an operation after its Complete, the server’s or the client’s', async () => {
    const s = await acked();
    // A query over the socket: one Next, then the server's Complete, then nothing for that id.
    s.send({ type: 'subscribe', id: 'q', payload: { query: '{ dags { totalCount } }' } });
    expect(await s.nextFor('q')).toMatchObject({ type: 'next' });
    expect(await s.nextFor('q')).toEqual({ type: 'complete', id: 'q' });

    // Two subscriptions to one DAG; the client completes the first; a later event reaches only the second.
    const dagId = `ws-complete-${randomUUID()}`;
    await submitDag(t, key, { id: dagId, name: 'ws', jobs: [{ id: 'a', name: 'a', executor: 'unhosted' }] });
    s.send({ type: 'subscribe', id: 's1', payload: { query: DAG_EVENTS, variables: { d: dagId } } });
    s.send({ type: 'subscribe', id: 's2', payload: { query: DAG_EVENTS, variables: { d: dagId } } });
    expect(await s.nextFor('s1')).toMatchObject({
      type: 'next',
      payload: { data: { dagStatusChanged: { state: 'CREATED' } } },
    });
    s.send({ type: 'complete', id: 's1' });
    s.send({ type: 'ping' });
    await waitForType(s, 'pong');
    ok(await t.gql(`mutation ($id: ID!) { cancelDag(id: $id) { state } }`, { id: dagId }, key));
    for (;;) {
      const m = await s.nextFor('s2');
      if (
        (m.payload as { data?: { dagStatusChanged?: { state?: string } } })?.data?.dagStatusChanged?.state ===
        'CANCELLED'
      )
        break;
    }
    const afterComplete = s.received.slice(s.received.findIndex((m) => m.type === 'pong'));
    expect(afterComplete.filter((m) => m.id === 's1' || m.id === 'q')).toEqual([]);
    expect(s.received.filter((m) => m.id === 'q').map((m) => m.type)).toEqual(['next', 'complete']);
  });

  it('refuses bad input in a Subscribe with a BAD_USER_INPUT Error naming the field, and keeps the socket', async () => {
    const s = await acked();
    s.send({ type: 'subscribe', id: 'bad', payload: { query: DAG_EVENTS, variables: { d: 'x\u0000' } } });
    const m = await s.nextFor('bad');
    expect(m.type).toBe('error');
    expect(m.payload).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT', field: 'd' } }]);
    s.send({ type: 'ping' });
    expect(await s.next()).toEqual({ type: 'pong' });
  });
});

async function waitForType(s: RawSocket, type: string): Promise<Message> {
  for (;;) {
    const m = await s.next();
    if (m.type === type) return m;
  }
}
