import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { getOperationAST, OperationTypeNode, parse, type ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { StrictMode, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { storedKey, storeKey } from './lib/session';
import './graphiql.css';

type Params = { query: string; operationName?: string | null; variables?: Record<string, unknown> | null };

/**
 * GraphiQL's fetcher: queries and mutations over fetch, subscriptions over graphql-ws,
 * both with the signed-in key (the dashboard's, from this tab's sessionStorage).
 */
function fetcherFor(key: string) {
  let ws: Client | null = null;
  const socket = () =>
    (ws ??= createClient({
      url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`,
      connectionParams: { authorization: `Bearer ${key}` },
    }));
  return (input: Params) => {
    const params = { ...input };
    let isSubscription = false;
    try {
      const doc = parse(params.query);
      // GraphiQL may still hold the name of an operation the editor no longer has (its text
      // was just replaced): with a single operation in the document, run that one.
      if (params.operationName && !getOperationAST(doc, params.operationName)) params.operationName = null;
      isSubscription = getOperationAST(doc, params.operationName)?.operation === OperationTypeNode.SUBSCRIPTION;
    } catch {
      // A syntax error: the server says so.
    }
    if (isSubscription) {
      return socket().iterate({
        query: params.query,
        operationName: params.operationName ?? undefined,
        variables: params.variables ?? undefined,
        // Formatted errors (plain objects), which is all GraphiQL reads of them.
      }) as AsyncIterable<ExecutionResult>;
    }
    return fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(params),
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
  };
}

const DEFAULT_QUERY = `# The signed-in key's tenant. Subscriptions run over graphql-ws.
query Overview {
  me { keyName tenant role }
  dags(first: 5) { totalCount edges { node { id name state progress { percent } } } }
  workers { hostname executors healthy }
}
`;

function Page() {
  const [key, setKey] = useState(() => storedKey());
  const fetcher = useMemo(() => (key ? fetcherFor(key) : null), [key]);
  if (!key || !fetcher) {
    const submit = (e: FormEvent<HTMLFormElement>) => {
      e.preventDefault();
      const v = new FormData(e.currentTarget).get('apiKey');
      if (typeof v === 'string' && v.trim()) {
        storeKey(v.trim());
        setKey(v.trim());
      }
    };
    return (
      <form className="graphiql-sign-in" onSubmit={submit}>
        <label>
          API key <input name="apiKey" type="password" autoComplete="off" />
        </label>
        <button type="submit">Open GraphiQL</button>
      </form>
    );
  }
  return <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />;
}

const root = document.getElementById('graphiql');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <Page />
    </StrictMode>,
  );
}
