import { useState } from 'react';
import { AssetPageDoc } from '../graphql/asset-documents';
import type { MatFragment } from '../graphql/generated/graphql';
import { ago, shortVersion, when } from '../lib/format';
import { assetPath, lineagePath, Link, runPath } from '../lib/router';
import { useQuery } from '../lib/use-query';

const CAUSE_TEXT: Record<string, string> = {
  UPSTREAM_CHANGED: 'an input has a newer version',
  UPSTREAM_STALE: 'an input is itself stale',
  CODE_CHANGED: 'a newer materialization has other code or prompt',
};

function Staleness({ m }: { m: MatFragment }) {
  if (!m.isStale) return <span className="badge fresh">fresh</span>;
  return (
    <ul className="stale-reasons" data-testid="stale-reasons">
      {m.staleReasons.map((r, i) => (
        <li key={i}>
          <span className="badge stale">{r.cause}</span> <Link to={assetPath(r.assetKey)}>{r.assetKey}</Link>:{' '}
          {CAUSE_TEXT[r.cause]}
          {r.usedVersion && (
            <span className="sub">
              {' '}
              (used <code>{shortVersion(r.usedVersion)}</code>, latest{' '}
              <code>{shortVersion(r.latestVersion ?? '')}</code>)
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

function MatRow({ m, partition = true }: { m: MatFragment; partition?: boolean }) {
  return (
    <tr>
      {partition && <td>{m.partitionKey ?? '—'}</td>}
      <td>
        <code title={m.version}>{shortVersion(m.version)}</code>
      </td>
      <td title={when(m.createdAt)}>{ago(m.createdAt)}</td>
      <td>{m.dagId ? <Link to={runPath(m.dagId)}>{`${m.dagId} / ${m.nodeTaskId ?? ''}`}</Link> : '—'}</td>
      <td>
        <Staleness m={m} />
      </td>
    </tr>
  );
}

/** One asset: latest per partition, paged history, staleness with causes, neighbours, impact. */
export function AssetPage({ assetKey }: { assetKey: string }) {
  const [pages, setPages] = useState<Array<string | undefined>>([undefined]);
  const after = pages[pages.length - 1];
  const q = useQuery(AssetPageDoc, { key: assetKey, first: 20, after });
  if (q.error) return <p className="error">{q.error}</p>;
  if (!q.data) return <p className="loading">Loading…</p>;
  const { asset, impact } = q.data;
  if (!asset) return <p className="error">No asset {assetKey}.</p>;
  const history = asset.materializations;
  return (
    <section className="asset-page" data-testid="asset-page">
      <h1>
        {asset.key} {asset.kind && <span className="badge">{asset.kind}</span>}
      </h1>
      <p className="sub">
        namespace {asset.namespace} · updated {when(asset.updatedAt)} · <Link to={lineagePath(asset.key)}>lineage</Link>
      </p>
      {asset.description && <p>{asset.description}</p>}
      <h2>Latest</h2>
      {asset.latest ? (
        <table data-testid="latest">
          <tbody>
            <MatRow m={asset.latest} />
          </tbody>
        </table>
      ) : (
        <p className="sub">never materialized</p>
      )}
      <h2>Partitions ({asset.partitions.totalCount})</h2>
      <table>
        <tbody>
          {asset.partitions.edges.map(({ node }) => (
            <MatRow key={node.key} m={node.latest} />
          ))}
        </tbody>
      </table>
      <div className="columns">
        <div>
          <h2>Upstream</h2>
          <ul className="plain">
            {asset.upstream.map((a) => (
              <li key={a.key}>
                <Link to={assetPath(a.key)}>{a.key}</Link>
              </li>
            ))}
          </ul>
        </div>
        <div>
          <h2>Downstream</h2>
          <ul className="plain">
            {asset.downstream.map((a) => (
              <li key={a.key}>
                <Link to={assetPath(a.key)}>{a.key}</Link>
              </li>
            ))}
          </ul>
        </div>
        <div data-testid="impact">
          <h2>Impact</h2>
          <p>
            {impact.downstreamCount} downstream assets; {impact.affectedMaterializations} fresh materializations would
            turn stale; {impact.recentJobCount} jobs in {impact.recentDagCount} DAGs made it in the last 24 h.
          </p>
        </div>
      </div>
      <h2>History ({history.totalCount})</h2>
      <table data-testid="history">
        <tbody>
          {history.edges.map(({ node }) => (
            <MatRow key={node.id} m={node} />
          ))}
        </tbody>
      </table>
      <div className="pager">
        <button type="button" disabled={pages.length < 2} onClick={() => setPages(pages.slice(0, -1))}>
          ← Newer
        </button>
        <button
          type="button"
          disabled={!history.pageInfo.hasNextPage}
          onClick={() => setPages([...pages, history.pageInfo.endCursor ?? undefined])}
        >
          Older →
        </button>
      </div>
    </section>
  );
}
