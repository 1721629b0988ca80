import { useCallback, useEffect, useMemo, useState } from 'react';
import { MeDoc } from './graphql/documents';
import { Api } from './lib/client';
import { Link, navigate, useLocation } from './lib/router';
import { forgetKey, storedKey, storeKey } from './lib/session';
import { SessionContext, useSession, type Session, type Viewer } from './lib/session-context';
import { AssetPage } from './pages/AssetPage';
import { Assets } from './pages/Assets';
import { Fleet } from './pages/Fleet';
import { Lineage } from './pages/Lineage';
import { RunDetail } from './pages/RunDetail';
import { Runs } from './pages/Runs';
import { SignIn } from './pages/SignIn';

/** Signs in with a pasted key (checked with `me`), then routes between the pages. */
export function App() {
  const [key, setKey] = useState<string | null>(() => storedKey());
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const api = useMemo(() => (key ? new Api(key) : null), [key]);

  useEffect(() => {
    if (!api) return;
    let live = true;
    api.request(MeDoc).then(
      (d) => live && setViewer(d.me),
      (err: Error) => {
        if (!live) return;
        forgetKey();
        setKey(null);
        setError(err.message);
      },
    );
    return () => {
      live = false;
      api.close();
    };
  }, [api]);

  const signIn = useCallback((k: string) => {
    setError(null);
    storeKey(k);
    setKey(k);
  }, []);
  const signOut = useCallback(() => {
    forgetKey();
    setViewer(null);
    setKey(null);
    navigate('/');
  }, []);

  if (!api || !key) return <SignIn onKey={signIn} error={error} />;
  if (!viewer) return <p className="loading">Checking the key…</p>;
  const session: Session = { api, viewer, signOut };
  return (
    <SessionContext.Provider value={session}>
      <Shell />
    </SessionContext.Provider>
  );
}

function Shell() {
  const { path } = useLocation();
  const s = useSession();
  return (
    <div className="shell">
      <header className="top">
        <span className="brand">Marie</span>
        <nav>
          <Link to="/runs" className={navClass(path, '/runs')}>
            Runs
          </Link>
          <Link to="/assets" className={navClass(path, '/assets')}>
            Assets
          </Link>
          <Link to="/lineage" className={navClass(path, '/lineage')}>
            Lineage
          </Link>
          <Link to="/fleet" className={navClass(path, '/fleet')}>
            Fleet
          </Link>
          <a href="/graphiql" target="_blank" rel="noreferrer">
            GraphiQL
          </a>
        </nav>
        <span className="who" data-testid="who">
          {s.viewer.keyName} · {s.viewer.tenant} · <b>{s.viewer.role.toLowerCase()}</b>
        </span>
        <button type="button" onClick={() => s.signOut()}>
          Sign out
        </button>
      </header>
      <main>{route(path)}</main>
    </div>
  );
}

const navClass = (path: string, prefix: string) => (path.startsWith(prefix) ? 'active' : undefined);

/** The rest of a path after a prefix, decoded segment by segment (asset keys hold slashes). */
const rest = (path: string, prefix: string) =>
  path.slice(prefix.length).split('/').filter(Boolean).map(decodeURIComponent).join('/');

function route(path: string) {
  if (path.startsWith('/runs/')) return <RunDetail dagId={rest(path, '/runs/')} />;
  if (path.startsWith('/assets/')) return <AssetPage assetKey={rest(path, '/assets/')} />;
  if (path === '/assets') return <Assets />;
  if (path.startsWith('/lineage')) return <Lineage assetKey={rest(path, '/lineage')} />;
  if (path === '/fleet') return <Fleet />;
  return <Runs />;
}
