import { useEffect, useState, type FormEvent } from 'react';
import { ClientError } from './client/client';
import { signIn } from './client/http-client';

export interface SignedIn {
  token: string;
  role: string;
  expiresAt: string;
}

/** The browser console's door: an API key in, a session token out. The key itself is not kept. */
/** `ended`: why the server ended the previous session (revoked, expired), said above the form. */
export function SignIn({ onSignedIn, ended = null }: { onSignedIn: (session: SignedIn) => void; ended?: string | null }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  useEffect(() => {
    document.title = 'Sign in · Pilothouse';
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setError(null);
    try {
      onSignedIn(await signIn(window.location.origin, key));
    } catch (err) {
      setError(err instanceof ClientError ? `${err.code}: ${err.message}` : 'Pilothouse cannot be reached');
    } finally {
      setPending(false);
    }
  };

  return (
    <main className="sign-in">
      <form onSubmit={(e) => void submit(e)} className="card" aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">
          <span className="logo" aria-hidden>
            ⎈
          </span>{' '}
          Pilothouse
        </h1>
        {ended !== null && (
          <div className="notice" role="status" data-testid="session-ended">
            {ended}
          </div>
        )}
        <p className="muted">
          Sign in with an API key. On first start, the admin key is in <code>admin.key</code> in the data directory.
        </p>
        <label>
          API key
          <input
            type="password"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            placeholder="ph_…"
            autoFocus
            required
            autoComplete="off"
          />
        </label>
        {error !== null && (
          <div className="error-banner" role="alert">
            {error}
          </div>
        )}
        <button type="submit" className="primary" disabled={pending || key.trim() === ''}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
