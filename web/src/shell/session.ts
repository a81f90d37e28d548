import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { api, setCsrfToken } from '../api/client';

/** What a page may do; the server decides, the UI only hides what would be refused. */
export type Permission = 'query' | 'audit' | 'admin';

export interface SessionInfo {
  identity: { id: string; name: string; kind: string; roles: string[]; tenants: string[] };
  permissions: Permission[];
  csrfToken: string;
  idleTimeoutMs: number;
  /** Lines one log query may return (the server's query.max_lines); Explore pages in queries of this size. */
  maxLinesPerQuery: number;
}

function adopt(session: SessionInfo): SessionInfo {
  setCsrfToken(session.csrfToken);
  return session;
}

/** The current session, or undefined when there is none. */
export async function loadSession(): Promise<SessionInfo | undefined> {
  try {
    return adopt(await api<SessionInfo>('/api/v1/session'));
  } catch {
    return undefined;
  }
}

/** Exchanges an API key (or admin or OIDC token) for a session cookie. */
export async function logIn(token: string): Promise<SessionInfo> {
  return adopt(await api<SessionInfo>('/api/v1/session', { method: 'POST', body: { token } }));
}

export async function logOut(): Promise<void> {
  await api('/api/v1/session', { method: 'DELETE' });
  setCsrfToken('');
}

export const SessionContext = createContext<SessionInfo | undefined>(undefined);

/** The logged-in session; pages render only inside the shell, which has one. */
export function useSession(): SessionInfo & { can: (permission: Permission) => boolean } {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a session');
  return { ...session, can: (permission) => session.permissions.includes(permission) };
}
