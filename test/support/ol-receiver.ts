import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small OpenLineage receiver the tests control: it records every event POSTed to it
 * (in arrival order), checks the emitter's bearer key, and forwards each body to a target
 * (our own ingest, with another tenant's key) answering with the target's status. `down()`
 * stops listening (connections are refused and open ones closed) until `up()`.
 */
export interface OlReceiver {
  url: string;
  /** Every event received (a batch body counts each of its events), in order. */
  events: Array<Record<string, unknown>>;
  /** Per request taken: how many events it held (1 for a single event). */
  requests: number[];
  /** Requests refused for a wrong key. */
  unauthorized: number;
  forwardTo(url: string, key: string): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

export async function startOlReceiver(expectedKey: string): Promise<OlReceiver> {
  let target: { url: string; key: string } | null = null;
  const r: OlReceiver = {
    url: '',
    events: [],
    requests: [],
    unauthorized: 0,
    forwardTo: (url, key) => void (target = { url, key }),
    down: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    up: () => listen(port),
    close: async () => {
      if (server.listening) await r.down();
    },
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (req.headers.authorization !== `Bearer ${expectedKey}`) {
        r.unauthorized += 1;
        res.writeHead(401).end();
        return;
      }
      let status = 201;
      let answer = '{}';
      if (target) {
        const fwd = await fetch(target.url + (req.url ?? ''), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${target.key}` },
          body,
        });
        status = fwd.status;
        answer = await fwd.text();
      }
      // Recorded once the target took it: what a retry sends again is recorded again.
      if (status < 300) {
        const parsed = JSON.parse(body) as Record<string, unknown> | Array<Record<string, unknown>>;
        const events = Array.isArray(parsed) ? parsed : [parsed];
        r.events.push(...events);
        r.requests.push(Array.isArray(parsed) ? events.length : 1);
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(answer);
    })();
  });
  const listen = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  r.url = `http://127.0.0.1:${port}`;
  return r;
}
