import type { IncomingHttpHeaders } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import { MeshlogError } from '../errors.js';
import type { Session, SessionStore } from './sessions.js';

export const sessionCookieName = 'meshlog_session';
/** The header a UI request that changes state carries: the session's CSRF token. */
export const csrfHeaderName = 'x-csrf-token';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export function sessionIdOf(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.cookie;
  if (!header) return undefined;
  const id = parseCookie(header)[sessionCookieName];
  return id === undefined || id === '' ? undefined : id;
}

/** HttpOnly (no script reads it), SameSite=Strict (no other site sends it), Secure over TLS; no Max-Age: the server's idle timeout rules. */
export function sessionSetCookie(id: string, secure: boolean): string {
  return stringifySetCookie({ name: sessionCookieName, value: id, httpOnly: true, sameSite: 'strict', secure, path: '/' });
}

export function clearedSessionCookie(secure: boolean): string {
  return stringifySetCookie({ name: sessionCookieName, value: '', httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: 0 });
}

const oidcStateCookieName = 'meshlog_oidc_state';

/**
 * Binds an SSO login to the browser that started it. Lax, not Strict: it
 * must come back on the provider's cross-site redirect to the callback.
 * An empty state clears it.
 */
export function oidcStateCookie(state: string, secure: boolean): string {
  return stringifySetCookie({
    name: oidcStateCookieName,
    value: state,
    httpOnly: true,
    sameSite: 'lax',
    secure,
    path: '/api/v1/session/oidc',
    maxAge: state ? 600 : 0,
  });
}

export function oidcStateOf(headers: IncomingHttpHeaders): string | undefined {
  return headers.cookie ? parseCookie(headers.cookie)[oidcStateCookieName] : undefined;
}

/** Refuses a request a page of another origin made (browsers name it in `Origin`). */
export function requireSameOrigin(headers: IncomingHttpHeaders): void {
  const origin = headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== headers.host) throw new MeshlogError('ML_FORBIDDEN', `cross-origin request from ${origin.slice(0, 100)} refused`);
}

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The session a request's cookie names, checked for cross-site use: a
 * request from another origin is refused, and one that changes state must
 * echo the session's CSRF token in `X-CSRF-Token`. undefined without a
 * session cookie; 401 when the cookie names no live session.
 */
export async function sessionOfRequest(sessions: SessionStore, method: string, headers: IncomingHttpHeaders): Promise<Session | undefined> {
  const id = sessionIdOf(headers);
  if (id === undefined) return undefined;
  requireSameOrigin(headers);
  const session = await sessions.touch(id);
  if (!session) throw new MeshlogError('ML_AUTH_INVALID', 'session expired or logged out: log in again');
  if (!safeMethods.has(method.toUpperCase())) {
    const presented = headers[csrfHeaderName];
    if (typeof presented !== 'string' || !sameToken(presented, session.csrfToken))
      throw new MeshlogError('ML_FORBIDDEN', `missing or wrong ${csrfHeaderName} header`);
  }
  return session;
}
