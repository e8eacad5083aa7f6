import { StrictMode, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { Role } from '../../contract/roles';
import { App } from './app';
import type { Client } from './client/client';
import { SessionProvider } from './client/client-context';
import { HttpClient } from './client/http-client';
import { sessionEndMessage, type SessionRefusal } from './client/session-end';
import { IpcClient } from './client/ipc-client';
import { SignIn, type SignedIn } from './sign-in';
import { applyStoredTheme } from './theme';
import './styles.css';

const SESSION_KEY = 'pilothouse.session';

function storedSession(): SignedIn | null {
  const raw = sessionStorage.getItem(SESSION_KEY);
  if (raw === null) return null;
  const session = JSON.parse(raw) as SignedIn;
  return Date.parse(session.expiresAt) > Date.now() ? session : null;
}

/** Browser: sign in, then HTTP + WebSocket. Inside Electron the preload's bridge is there and no key is needed. */
function BrowserRoot() {
  const [session, setSession] = useState<SignedIn | null>(storedSession);
  // Why the server ended the session, for the sign-in page; null after a sign-out of one's own.
  const [ended, setEnded] = useState<string | null>(null);
  const signOut = () => {
    sessionStorage.removeItem(SESSION_KEY);
    setSession(null);
  };
  const refused = (expiresAt: string) => (refusal: SessionRefusal) => {
    // Several calls may be refused at once: the first says why.
    setEnded((said) => said ?? sessionEndMessage(refusal, expiresAt, Date.now()));
    signOut();
  };
  const client = useMemo<Client | null>(
    () => (session === null ? null : new HttpClient(window.location.origin, session.token, refused(session.expiresAt))),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [session?.token],
  );
  if (session === null || client === null) {
    return (
      <SignIn
        ended={ended}
        onSignedIn={(next) => {
          sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
          setEnded(null);
          setSession(next);
        }}
      />
    );
  }
  return (
    <SessionProvider
      session={{
        client,
        role: session.role as Role,
        signOut: () => {
          // End the session on the server, not only here: a copy of the token is refused from now on.
          void client.call('sessions.logout', {}).catch(() => undefined);
          client.close();
          signOut();
        },
      }}
    >
      <App />
    </SessionProvider>
  );
}

applyStoredTheme();
const root = createRoot(document.getElementById('root') as HTMLElement);
const bridge = window.pilothouse;
root.render(
  <StrictMode>
    {bridge !== undefined ? (
      <SessionProvider session={{ client: new IpcClient(bridge), role: 'admin', signOut: null }}>
        <App />
      </SessionProvider>
    ) : (
      <BrowserRoot />
    )}
  </StrictMode>,
);
