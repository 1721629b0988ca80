import { useCallback, useEffect, useRef, useState } from 'react';
import type { TypedDocumentString } from '../graphql/generated/graphql';
import { useSession } from './session-context';

export interface QueryState<R> {
  data: R | null;
  error: string | null;
  loading: boolean;
  reload(): void;
  /** Replace the data in place (live updates). */
  setData(update: (prev: R | null) => R | null): void;
}

/** Run a query when its variables change (compared as JSON); the latest answer wins. */
export function useQuery<R, V>(doc: TypedDocumentString<R, V>, variables: V, opts: { pollMs?: number } = {}) {
  const { api } = useSession();
  const [data, setData] = useState<R | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const key = JSON.stringify(variables);

  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    api.request(doc, JSON.parse(key) as V).then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (err: Error) => {
        if (mine !== seq.current) return;
        setError(err.message);
        setLoading(false);
      },
    );
  }, [api, doc, key, tick]);

  useEffect(() => {
    if (!opts.pollMs) return;
    const t = setInterval(() => setTick((n) => n + 1), opts.pollMs);
    return () => clearInterval(t);
  }, [opts.pollMs]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload, setData } satisfies QueryState<R>;
}
