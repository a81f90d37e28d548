import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { SessionMethodsResponse, SessionResponse, UiPermission } from '../api/session.js';
import { MeshlogError } from '../errors.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Authenticate } from '../security/authenticator.js';
import { hasPermission, type Identity } from '../security/identity.js';
import {
  clearedSessionCookie,
  oidcStateCookie,
  oidcStateOf,
  requireSameOrigin,
  sessionIdOf,
  sessionOfRequest,
  sessionSetCookie,
} from '../security/sessionCookie.js';
import type { OidcLogin } from '../security/oidcLogin.js';
import { loginAccountOf, type AuthFailures } from '../security/loginThrottle.js';
import type { Session, SessionStore } from '../security/sessions.js';
import { parseJsonBody } from '../formats/jsonBody.js';

export interface SessionRouteDeps {
  sessions: SessionStore;
  authenticate: Authenticate;
  audit: AuditTrail;
  /** Secure cookies: the HTTP port speaks TLS. */
  secure: boolean;
  /** Single sign-on through the OIDC provider; absent when no `oidc.client_id` is configured. */
  oidc?: OidcLogin;
  /** Lines one log query may return (query.max_lines): Explore pages through larger results in queries of this size. */
  maxLinesPerQuery: number;
  /** Audits failed logins and refuses an address after repeated failures (shared with every other authentication path). */
  authFailures: AuthFailures;
}

/** Only the UI's own pages are a place to return to after SSO (no open redirect). */
const safeReturn = (value: string | undefined) =>
  value && /^\/ui(\/[A-Za-z0-9._~%/?&=+-]*)?$/.test(value) && !value.includes('//') ? value : '/ui/';

const loginBody = z.object({ token: z.string().min(1).max(4096) }).strict();

/** What the UI may offer: a session never acts beyond these, the server checks every request. */
const uiPermissions: UiPermission[] = ['query', 'audit', 'admin'];

function sessionView(session: Session, limits: SessionStore['limits'], maxLinesPerQuery: number): SessionResponse {
  const { identity } = session;
  return {
    identity: { id: identity.id, name: identity.name, kind: identity.kind, roles: identity.roles, tenants: identity.tenants },
    permissions: uiPermissions.filter((permission) => hasPermission(identity, permission)),
    csrfToken: session.csrfToken,
    idleTimeoutMs: limits.idleTimeoutMs,
    maxLinesPerQuery,
  };
}

/**
 * UI login: a credential (API key, admin token or OIDC token) is exchanged
 * once for a server-side session held in an HttpOnly cookie; every later
 * request authenticates by that cookie (see httpApp's auth hook). Logins
 * and logouts are audit events.
 */
export function sessionRoutes(app: FastifyInstance, deps: SessionRouteDeps): void {
  const { sessions, audit } = deps;

  app.post('/api/v1/session', { config: { permission: 'public' } }, async (request, reply) => {
    // Another site must not log a browser in as someone else: no cross-origin posts, and a
    // JSON content type no plain form can send.
    requireSameOrigin(request.headers);
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? ''))
      throw new MeshlogError('ML_CONTENT_TYPE', 'send the login as application/json');
    const { token } = parseJsonBody(loginBody, request.body);
    const account = loginAccountOf(token);
    // Refused by source address only: failures in a key's name from elsewhere never lock its owner out.
    await deps.authFailures.check(request.ip);
    let identity: Identity;
    try {
      identity = await deps.authenticate(token);
    } catch (error) {
      await deps.authFailures.failed(request.ip, {
        action: 'auth.session.login',
        target: account,
        detail: { reason: (error as Error).message },
      });
      throw error;
    }
    if (!uiPermissions.some((permission) => hasPermission(identity, permission))) {
      await audit.record({
        action: 'auth.session.login',
        outcome: 'denied',
        actor: identity,
        remoteAddress: request.ip,
        detail: { reason: 'no role that can use the UI' },
      });
      throw new MeshlogError('ML_FORBIDDEN', `${identity.name} has no role that can use the UI (admin, analyst or auditor)`);
    }
    const { id, session } = await sessions.create(identity);
    await audit.record({ action: 'auth.session.login', outcome: 'success', actor: identity, remoteAddress: request.ip });
    reply.header('set-cookie', sessionSetCookie(id, deps.secure));
    return sessionView(session, sessions.limits, deps.maxLinesPerQuery);
  });

  app.get<{ Reply: SessionMethodsResponse }>('/api/v1/session/methods', { config: { permission: 'public' } }, async () => ({
    token: true,
    oidc: deps.oidc !== undefined,
  }));

  const oidc = deps.oidc;
  if (oidc) {
    const callbackPath = '/api/v1/session/oidc/callback';
    app.get('/api/v1/session/oidc/login', { config: { permission: 'public' } }, async (request, reply) => {
      const redirectUri = `${deps.secure ? 'https' : 'http'}://${request.host}${callbackPath}`;
      const { url, state } = await oidc.start(redirectUri, safeReturn((request.query as { return?: string }).return));
      return reply.header('set-cookie', oidcStateCookie(state, deps.secure)).redirect(url, 303);
    });

    app.get(callbackPath, { config: { permission: 'public' } }, async (request, reply) => {
      const query = request.query as { code?: string; state?: string; error?: string; error_description?: string };
      reply.header('set-cookie', oidcStateCookie('', deps.secure));
      try {
        await deps.authFailures.check(request.ip);
      } catch (error) {
        return reply.redirect(`/ui/login?${new URLSearchParams({ error: (error as Error).message })}`, 303);
      }
      try {
        if (query.error)
          throw new MeshlogError(
            'ML_AUTH_INVALID',
            `the identity provider answered ${query.error}${query.error_description ? `: ${query.error_description}` : ''}`,
          );
        // The state must come back to the browser that started the login (login CSRF).
        if (!query.code || !query.state || oidcStateOf(request.headers) !== query.state)
          throw new MeshlogError('ML_AUTH_INVALID', 'the login did not start in this browser');
        const { identity, returnTo } = await oidc.finish(query.state, query.code);
        if (!uiPermissions.some((permission) => hasPermission(identity, permission)))
          throw new MeshlogError('ML_FORBIDDEN', `${identity.name} has no role that can use the UI (admin, analyst or auditor)`);
        const { id } = await sessions.create(identity);
        await audit.record({
          action: 'auth.session.login',
          outcome: 'success',
          actor: identity,
          remoteAddress: request.ip,
          detail: { method: 'oidc' },
        });
        return reply.header('set-cookie', [oidcStateCookie('', deps.secure), sessionSetCookie(id, deps.secure)]).redirect(returnTo, 303);
      } catch (error) {
        const reason = (error as Error).message;
        await deps.authFailures.failed(request.ip, { action: 'auth.session.login', detail: { method: 'oidc', reason } });
        return reply.redirect(`/ui/login?${new URLSearchParams({ error: reason })}`, 303);
      }
    });
  }

  const current = async (request: FastifyRequest): Promise<Session> => {
    const session = await sessionOfRequest(sessions, request.method, request.headers);
    if (!session) throw new MeshlogError('ML_AUTH_MISSING', 'no session: log in');
    return session;
  };

  app.get('/api/v1/session', { config: { permission: 'public' } }, async (request) =>
    sessionView(await current(request), sessions.limits, deps.maxLinesPerQuery),
  );

  app.delete('/api/v1/session', { config: { permission: 'public' } }, async (request, reply) => {
    const session = await current(request);
    await sessions.destroy(sessionIdOf(request.headers)!);
    await audit.record({ action: 'auth.session.logout', outcome: 'success', actor: session.identity, remoteAddress: request.ip });
    reply.header('set-cookie', clearedSessionCookie(deps.secure));
    return { status: 'logged out' };
  });
}
