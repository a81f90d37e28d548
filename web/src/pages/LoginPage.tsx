import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { logIn, type SessionInfo } from '../shell/session';

/** Log in with an API key (or the admin token, or an OIDC access token): the server turns it into a session cookie. */
export function LoginPage({ onLogin }: { onLogin: (session: SessionInfo) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
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
        <input id="token" name="token" type="password" autoComplete="current-password" value={token} onInput={(event) => setToken(event.currentTarget.value)} autoFocus required />
        <p class="hint">An analyst, auditor or admin key (<code>meshlog keys create</code>), or the bootstrap admin token.</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </div>
  );
}
