import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api/client';
import type { SessionMethodsResponse, SessionResponse } from '@api/session';
import { logIn } from '../shell/session';

/** Log in with an API key (or the admin token, or an OIDC access token): the server turns it into a session cookie. */
export function LoginPage({ onLogin }: { onLogin: (session: SessionResponse) => void }) {
  const [token, setToken] = useState('');
  // A failed single sign-on comes back here with its reason.
  const [error, setError] = useState(new URLSearchParams(location.search).get('error') ?? '');
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState(false);
  useEffect(
    () =>
      void api<SessionMethodsResponse>('/api/v1/session/methods').then(
        (methods) => setSso(methods.oidc),
        () => setSso(false),
      ),
    [],
  );
  const returnTo = location.pathname.startsWith('/ui/') && location.pathname !== '/ui/login' ? location.pathname + location.search : '/ui/';
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      onLogin(await logIn(token.trim()));
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : 'meshlog could not be reached');
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login">
      <form class="login-card" onSubmit={submit} aria-label="log in">
        <h1>meshlog</h1>
        <label for="token">API key</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          autoFocus
          required
        />
        <p class="hint">
          An analyst, auditor or admin key (<code>meshlog keys create</code>), or the bootstrap admin token.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        {sso && (
          <a class="sso" href={`/api/v1/session/oidc/login?${new URLSearchParams({ return: returnTo })}`}>
            Log in with single sign-on
          </a>
        )}
      </form>
    </div>
  );
}
