import { useEffect, useState } from 'react';
import { useConnectionState, useSession } from './client/client-context';
import { BannerScope } from './components/banner-scope';
import { KeyNamesProvider } from './components/key-name';
import { ThemeToggle } from './theme';
import { views } from './views';

function currentViewId(): string {
  const id = window.location.hash.replace(/^#\/?/, '');
  return views.some((v) => v.id === id) ? id : 'overview';
}

/** The console shell: sidebar, connection state, and the selected view (hash-routed, so it works from file:// in Electron too). */
export function App() {
  const { role, signOut, client } = useSession();
  const connection = useConnectionState();
  const [viewId, setViewId] = useState(currentViewId);

  useEffect(() => {
    const onHash = () => {
      const id = currentViewId();
      // A link to a view that does not exist shows the Overview: the address says so too.
      if (window.location.hash.replace(/^#\/?/, '') !== id && window.location.hash !== '') window.history.replaceState(null, '', `#/${id}`);
      setViewId(id);
    };
    onHash();
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const view = (views.find((v) => v.id === viewId) ?? views[0])!;
  const View = view.component;

  useEffect(() => {
    document.title = `${view.label} · Pilothouse`;
  }, [view.label]);

  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Views">
        <div className="brand">
          <span className="logo" aria-hidden>
            ⎈
          </span>
          Pilothouse
        </div>
        <ul>
          {views.map((view) => (
            <li key={view.id}>
              <a
                href={`#/${view.id}`}
                className={view.id === viewId ? 'active' : undefined}
                aria-current={view.id === viewId ? 'page' : undefined}
              >
                {view.label}
              </a>
            </li>
          ))}
        </ul>
        <div className="sidebar-footer">
          <div className={`connection ${connection}`} data-testid="connection">
            <span className="dot" /> {connection === 'open' ? 'live' : connection}
          </div>
          <div className="muted small">
            {client.transport === 'ipc' ? 'desktop' : 'browser'} · {role}
          </div>
          <ThemeToggle />
          {signOut !== null && (
            <button className="link" onClick={signOut}>
              Sign out
            </button>
          )}
        </div>
      </nav>
      <main className="content">
        <KeyNamesProvider>
          <BannerScope key={view.id}>
            <View />
          </BannerScope>
        </KeyNamesProvider>
      </main>
    </div>
  );
}
