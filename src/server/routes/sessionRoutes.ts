import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MeshlogError } from '../../errors.js';
import type { AuditTrail } from '../../security/auditTrail.js';
import type { Authenticate } from '../../security/authenticator.js';
import { hasPermission, type Identity, type Permission } from '../../security/identity.js';
import { clearedSessionCookie, sessionIdOf, sessionOfRequest, sessionSetCookie } from '../../security/sessionCookie.js';
import type { Session, SessionStore } from '../../security/sessions.js';
import { parseJsonBody } from '../jsonBody.js';

export interface SessionRouteDeps {
  sessions: SessionStore;
  authenticate: Authenticate;
  audit: AuditTrail;
  /** Secure cookies: the HTTP port speaks TLS. */
  secure: boolean;
}

const loginBody = z.object({ token: z.string().min(1).max(4096) }).strict();

/** What the UI may offer: a session never acts beyond these, the server checks every request. */
const uiPermissions: Permission[] = ['query', 'audit', 'admin'];

function sessionView(session: Session, limits: SessionStore['limits']) {
  const { identity } = session;
  return {
    identity: { id: identity.id, name: identity.name, kind: identity.kind, roles: identity.roles, tenants: identity.tenants },
    permissions: uiPermissions.filter((permission) => hasPermission(identity, permission)),
    csrfToken: session.csrfToken,
    idleTimeoutMs: limits.idleTimeoutMs,
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
    const { token } = parseJsonBody(loginBody, request.body);
    let identity: Identity;
    try {
      identity = await deps.authenticate(token);
    } catch (error) {
      await audit.record({ action: 'auth.session.login', outcome: 'denied', remoteAddress: request.ip, detail: { reason: (error as Error).message } });
      throw error;
    }
    if (!uiPermissions.some((permission) => hasPermission(identity, permission))) {
      await audit.record({ action: 'auth.session.login', outcome: 'denied', actor: identity, remoteAddress: request.ip, detail: { reason: 'no role that can use the UI' } });
      throw new MeshlogError('ML_FORBIDDEN', `${identity.name} has no role that can use the UI (admin, analyst or auditor)`);
    }
    const { id, session } = sessions.create(identity);
    await audit.record({ action: 'auth.session.login', outcome: 'success', actor: identity, remoteAddress: request.ip });
    reply.header('set-cookie', sessionSetCookie(id, deps.secure));
    return sessionView(session, sessions.limits);
  });

  const current = (request: FastifyRequest): Session => {
    const session = sessionOfRequest(sessions, request.method, request.headers);
    if (!session) throw new MeshlogError('ML_AUTH_MISSING', 'no session: log in');
    return session;
  };

  app.get('/api/v1/session', { config: { permission: 'public' } }, async (request) => sessionView(current(request), sessions.limits));

  app.delete('/api/v1/session', { config: { permission: 'public' } }, async (request, reply) => {
    const session = current(request);
    sessions.destroy(sessionIdOf(request.headers)!);
    await audit.record({ action: 'auth.session.logout', outcome: 'success', actor: session.identity, remoteAddress: request.ip });
    reply.header('set-cookie', clearedSessionCookie(deps.secure));
    return { status: 'logged out' };
  });
}
