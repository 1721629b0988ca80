import { useEffect, useRef, useState } from 'react';
import { ProgressBar, SlaBadge, StateBadge } from '../components/Badges';
import { DagStatusDoc, RunsDoc } from '../graphql/documents';
import type { DagRowFragment, DagState, RunsQuery } from '../graphql/generated/graphql';
import { duration, when } from '../lib/format';
import { Link, navigate, runPath, useLocation, withQuery } from '../lib/router';
import { useSession } from '../lib/session-context';
import { useQuery } from '../lib/use-query';

const STATES: DagState[] = ['CREATED', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED'];
const PAGE = 25;

/** `datetime-local` value → ISO (local time), or undefined. */
const iso = (v: string | null) => (v ? new Date(v).toISOString() : undefined);

/**
 * DAG runs, newest first: filters in the URL, cursor pages, and live through
 * dagStatusChanged (every DAG of the tenant) from the eventCursor read with the page.
 */
export function Runs() {
  const { api } = useSession();
  const { query } = useLocation();
  const state = (query.get('state') as DagState | null) ?? undefined;
  const name = query.get('name') ?? undefined;
  const from = query.get('from');
  const to = query.get('to');
  const after = query.get('after') ?? undefined;
  const [history, setHistory] = useState<string[]>([]);
  const q = useQuery(RunsDoc, {
    state,
    name,
    createdAfter: iso(from),
    createdBefore: iso(to),
    first: PAGE,
    after,
  });
  const cursor = useRef<string | null>(null);
  const filters = useRef({ state, name, firstPage: !after, to });
  filters.current = { state, name, firstPage: !after, to };
  const { setData } = q;
  const startCursor = q.data?.eventCursor ?? null;

  useEffect(() => {
    if (!startCursor) return;
    if (cursor.current === null) cursor.current = startCursor;
    return api.subscribe(
      DagStatusDoc,
      () => ({ after: cursor.current }),
      ({ dagStatusChanged: e }) => {
        cursor.current = e.cursor;
        setData((prev) => (prev ? applyEvent(prev, e, filters.current) : prev));
      },
    );
  }, [api, startCursor, setData]);

  const set = (patch: Record<string, string | undefined>) => {
    setHistory([]);
    navigate(withQuery('/runs', { state, name, from, to, ...patch, after: undefined }));
  };
  const dags = q.data?.dags;
  return (
    <section>
      <h1>Runs</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <select aria-label="State" value={state ?? ''} onChange={(e) => set({ state: e.target.value || undefined })}>
          <option value="">all states</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s.toLowerCase()}
            </option>
          ))}
        </select>
        <input
          aria-label="Name"
          placeholder="name"
          defaultValue={name}
          onKeyDown={(e) => e.key === 'Enter' && set({ name: e.currentTarget.value.trim() || undefined })}
        />
        <label>
          from
          <input type="datetime-local" value={from ?? ''} onChange={(e) => set({ from: e.target.value })} />
        </label>
        <label>
          to
          <input type="datetime-local" value={to ?? ''} onChange={(e) => set({ to: e.target.value })} />
        </label>
        <span className="count">{dags ? `${dags.totalCount} runs` : ''}</span>
      </form>
      {q.error && <p className="error">{q.error}</p>}
      <table className="runs" data-testid="runs">
        <thead>
          <tr>
            <th>DAG</th>
            <th>State</th>
            <th>Progress</th>
            <th>SLA</th>
            <th>Created</th>
            <th>Duration</th>
            <th>By</th>
          </tr>
        </thead>
        <tbody>
          {dags?.edges.map(({ node: d }) => (
            <tr key={d.id} data-dag={d.id} data-state={d.state}>
              <td>
                <Link to={runPath(d.id)}>{d.name}</Link>
                <div className="sub">{d.id}</div>
              </td>
              <td>
                <StateBadge state={d.state} />
              </td>
              <td>
                <ProgressBar p={d.progress} />
              </td>
              <td>
                <SlaBadge status={d.slaStatus} />
              </td>
              <td>{when(d.createdAt)}</td>
              <td>{duration(d.startedAt, d.completedAt)}</td>
              <td>{d.submittedBy ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="pager">
        <button
          type="button"
          disabled={!after}
          onClick={() => {
            const prev = history.slice(0, -1);
            setHistory(prev);
            navigate(withQuery('/runs', { state, name, from, to, after: history[history.length - 2] }));
          }}
        >
          ← Newer
        </button>
        <button
          type="button"
          disabled={!dags?.pageInfo.hasNextPage}
          onClick={() => {
            const next = dags?.pageInfo.endCursor ?? undefined;
            setHistory([...history, next ?? '']);
            navigate(withQuery('/runs', { state, name, from, to, after: next }));
          }}
        >
          Older →
        </button>
      </div>
    </section>
  );
}

type DagEvent = {
  dagId: string;
  state: DagState;
  progress: DagRowFragment['progress'];
  dag?: DagRowFragment | null;
};

/** A DAG event applied to the page: its row updated, or a new DAG put on top of the first page. */
function applyEvent(
  prev: RunsQuery,
  e: DagEvent,
  f: { state?: DagState; name?: string; firstPage: boolean; to: string | null },
): RunsQuery {
  const edges = prev.dags.edges;
  const i = edges.findIndex((x) => x.node.id === e.dagId);
  if (i >= 0) {
    const node = { ...edges[i].node, ...(e.dag ?? {}), state: e.state, progress: e.progress };
    const copy = edges.slice();
    if (f.state && node.state !== f.state) copy.splice(i, 1);
    else copy[i] = { ...edges[i], node };
    return { ...prev, dags: { ...prev.dags, edges: copy } };
  }
  const d = e.dag;
  if (!d || !f.firstPage || f.to) return prev;
  if ((f.state && d.state !== f.state) || (f.name && d.name !== f.name)) return prev;
  const node = { ...d, state: e.state, progress: e.progress };
  return {
    ...prev,
    dags: { ...prev.dags, totalCount: prev.dags.totalCount + 1, edges: [{ node }, ...edges].slice(0, PAGE) },
  };
}
