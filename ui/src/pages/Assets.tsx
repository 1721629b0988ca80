import { AssetsDoc } from '../graphql/asset-documents';
import { ago, shortVersion } from '../lib/format';
import { assetPath, Link, navigate, useLocation, withQuery } from '../lib/router';
import { useQuery } from '../lib/use-query';

/** The asset catalog: search by key, namespace and kind; cursor pages. */
export function Assets() {
  const { query } = useLocation();
  const search = query.get('search') ?? undefined;
  const namespace = query.get('namespace') ?? undefined;
  const kind = query.get('kind') ?? undefined;
  const after = query.get('after') ?? undefined;
  const q = useQuery(AssetsDoc, { search, namespace, kind, first: 50, after });
  const set = (patch: Record<string, string | undefined>) =>
    navigate(withQuery('/assets', { search, namespace, kind, ...patch, after: undefined }));
  const field = (name: 'search' | 'namespace' | 'kind', label: string, value?: string) => (
    <input
      aria-label={label}
      placeholder={label}
      defaultValue={value}
      onKeyDown={(e) => e.key === 'Enter' && set({ [name]: e.currentTarget.value.trim() || undefined })}
    />
  );
  const a = q.data?.assets;
  return (
    <section>
      <h1>Assets</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        {field('search', 'key contains', search)}
        {field('namespace', 'namespace', namespace)}
        {field('kind', 'kind', kind)}
        <span className="count">{a ? `${a.totalCount} assets` : ''}</span>
      </form>
      {q.error && <p className="error">{q.error}</p>}
      <table data-testid="assets">
        <thead>
          <tr>
            <th>Key</th>
            <th>Kind</th>
            <th>Latest version</th>
            <th>Materialized</th>
          </tr>
        </thead>
        <tbody>
          {a?.edges.map(({ node }) => (
            <tr key={node.key}>
              <td>
                <Link to={assetPath(node.key)}>{node.key}</Link>
              </td>
              <td>{node.kind ?? ''}</td>
              <td>
                {node.latest ? <code title={node.latest.version}>{shortVersion(node.latest.version)}</code> : '—'}
                {node.latest?.isStale && <span className="badge stale">stale</span>}
              </td>
              <td>{ago(node.latest?.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="pager">
        <button type="button" disabled={!after} onClick={() => set({})}>
          ← First
        </button>
        <button
          type="button"
          disabled={!a?.pageInfo.hasNextPage}
          onClick={() => navigate(withQuery('/assets', { search, namespace, kind, after: a?.pageInfo.endCursor }))}
        >
          Next →
        </button>
      </div>
    </section>
  );
}
