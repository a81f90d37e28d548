import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized } from '../api/client';
import { pages } from '../pages';
import { LoginPage } from '../pages/LoginPage';
import { Link } from './Link';
import { TimeZoneContext } from './preferences';
import { matchPath, navigate, uiBase, useLocation } from './router';
import type { SessionResponse } from '@api/session';
import { loadSession, logOut, SessionContext } from './session';
import { applyTheme, initialTheme, type Theme } from './theme';
import { savedTimeZone, saveTimeZone, type TimeZone } from './timeFormat';
import { useShortcuts } from './shortcuts';
import { choosesTenant, currentTenant } from './tenant';
import { TenantPicker } from './TenantPicker';

/** The frame around every page: session, navigation by role, theme, time zone, keyboard shortcuts. */
export function App() {
  const [session, setSession] = useState<SessionResponse | undefined | 'loading'>('loading');
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [zone, setZone] = useState<TimeZone>(savedTimeZone);
  const { path } = useLocation();

  useEffect(() => void loadSession().then(setSession), []);
  useEffect(() => onUnauthorized(() => setSession(undefined)), []);
  useEffect(() => applyTheme(theme), [theme]);
  useEffect(() => saveTimeZone(zone), [zone]);

  const allowed = session && session !== 'loading' ? pages.filter((page) => session.permissions.includes(page.permission)) : [];
  const [showHelp, setShowHelp] = useShortcuts(allowed);

  useEffect(() => {
    if (!session || session === 'loading') return;
    const home = allowed.find((page) => page.nav);
    if ((path === '/' || path === uiBase || path === `${uiBase}/` || path === `${uiBase}/login`) && home)
      navigate(home.path, { replace: true });
  }, [session, path]);

  if (session === 'loading') return <div class="splash">meshlog</div>;
  if (!session) return <LoginPage onLogin={setSession} />;

  const match = pages.map((page) => ({ page, params: matchPath(page.path, path) })).find((candidate) => candidate.params);
  const Page = match?.page.component;
  const permitted = match && session.permissions.includes(match.page.permission);

  const onLogout = async () => {
    await logOut().catch(() => undefined);
    setSession(undefined);
  };

  return (
    <SessionContext.Provider value={session}>
      <TimeZoneContext.Provider value={zone}>
        <div class="shell">
          <header class="topbar">
            <a class="brand" href={uiBase} aria-label="meshlog home">
              meshlog
            </a>
            <nav aria-label="pages">
              {allowed
                .filter((page) => page.nav)
                .map((page) => (
                  <Link
                    key={page.id}
                    href={page.path}
                    class={match?.page.id === page.id ? 'active' : ''}
                    aria-current={match?.page.id === page.id ? 'page' : undefined}
                    title={page.shortcut ? `g ${page.shortcut}` : undefined}
                  >
                    {page.title}
                  </Link>
                ))}
            </nav>
            <div class="topbar-end">
              <button
                type="button"
                class="ghost"
                onClick={() => setZone(zone === 'utc' ? 'local' : 'utc')}
                title={`time zone of every time shown: ${zone === 'utc' ? 'UTC' : 'local time'}`}
              >
                {zone === 'utc' ? 'UTC' : 'Local'}
              </button>
              <button
                type="button"
                class="ghost"
                onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
                aria-label="switch theme"
                title={theme === 'dark' ? 'light theme' : 'dark theme'}
              >
                {theme === 'dark' ? '☀' : '☾'}
              </button>
              <button type="button" class="ghost" onClick={() => setShowHelp(true)} aria-label="keyboard shortcuts">
                ?
              </button>
              {choosesTenant(session.identity.tenants) && <TenantPicker tenants={session.identity.tenants} />}
              <span
                class="whoami"
                title={`${session.identity.name} · ${session.identity.roles.join(', ')} · tenants: ${session.identity.tenants.join(', ')}`}
              >
                {session.identity.name} · {session.identity.roles.join(', ')}
              </span>
              <button type="button" onClick={onLogout}>
                Log out
              </button>
            </div>
          </header>
          <main class="page">
            {!match && <p class="notice">No page at {path}.</p>}
            {match && !permitted && (
              <p class="notice error">
                Your role ({session.identity.roles.join(', ')}) may not open {match.page.title}.
              </p>
            )}
            {/* A new tenant is a new page: every panel loads again from its first state. */}
            {Page && permitted && <Page key={currentTenant() ?? ''} params={match.params!} />}
          </main>
          {showHelp && (
            <div class="overlay" role="dialog" aria-label="keyboard shortcuts" onClick={() => setShowHelp(false)}>
              <div class="dialog" onClick={(event) => event.stopPropagation()}>
                <h2>Keyboard</h2>
                <table>
                  <tbody>
                    {allowed
                      .filter((page) => page.shortcut)
                      .map((page) => (
                        <tr key={page.id}>
                          <td>
                            <kbd>g</kbd> <kbd>{page.shortcut}</kbd>
                          </td>
                          <td>{page.title}</td>
                        </tr>
                      ))}
                    <tr>
                      <td>
                        <kbd>/</kbd>
                      </td>
                      <td>focus the query</td>
                    </tr>
                    <tr>
                      <td>
                        <kbd>j</kbd> <kbd>k</kbd> <kbd>Enter</kbd>
                      </td>
                      <td>move through results, expand one</td>
                    </tr>
                    <tr>
                      <td>
                        <kbd>Esc</kbd>
                      </td>
                      <td>close this</td>
                    </tr>
                  </tbody>
                </table>
              </div>
            </div>
          )}
        </div>
      </TimeZoneContext.Provider>
    </SessionContext.Provider>
  );
}
