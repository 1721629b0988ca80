import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];

/**
 * Watch one DAG until it ends and return its final state; works on a DAG that is running
 * and on one that ended long ago. The state and the event cursor come in one request;
 * the subscription starts after that cursor, so no change in between is missed. After
 * any disconnect it resubscribes after the last cursor it saw.
 */
export async function watchDag(
  url: string, // http://host:4000/graphql
  key: string,
  dagId: string,
  print: (state: string) => void = console.log,
): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({
      query: 'query ($id: ID!) { eventCursor dag(id: $id) { state } }',
      variables: { id: dagId },
    }),
  });
  const { data, errors } = (await res.json()) as {
    data?: { eventCursor: string; dag: { state: string } | null };
    errors?: Array<{ message: string }>;
  };
  if (errors?.length) throw new Error(errors[0].message);
  if (!data?.dag) throw new Error(`DAG ${dagId} not found`);
  print(data.dag.state);
  if (TERMINAL.includes(data.dag.state)) return data.dag.state;

  let after = data.eventCursor;
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts: 0, // we reconnect ourselves, each time after the last cursor
  });
  try {
    for (;;) {
      const events = client.iterate<{ dagStatusChanged: { cursor: string; state: string } }>({
        query: `subscription ($id: ID, $after: String) {
          dagStatusChanged(dagId: $id, after: $after) { cursor state } }`,
        variables: { id: dagId, after },
      });
      try {
        for await (const { data: event, errors: errs } of events) {
          if (errs?.length) throw new Error(errs[0].message); // e.g. CURSOR_EXPIRED
          const e = event!.dagStatusChanged;
          after = e.cursor;
          print(e.state);
          if (TERMINAL.includes(e.state)) return e.state;
        }
      } catch (err) {
        if (err instanceof Error) throw err;
        if (Array.isArray(err)) throw new Error((err as Array<{ message: string }>)[0].message);
        // A CloseEvent (network drop, 4409 slow consumer): wait a moment, resubscribe after `after`.
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } finally {
    await client.dispose();
  }
}

// node dist/examples/watch-dag.js http://localhost:4000/graphql "$KEY" invoice-42
if (require.main === module) {
  const [url, key, dagId] = process.argv.slice(2);
  watchDag(url, key, dagId).then(
    (state) => process.exit(state === 'COMPLETED' ? 0 : 1),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
