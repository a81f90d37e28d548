import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuditTrail } from '../../security/auditTrail.js';
import type { SessionStore } from '../../security/sessions.js';
import { roles } from '../../security/identity.js';
import type { UserRegistry } from '../../security/userRegistry.js';
import { parseJsonBody } from '../jsonBody.js';
import { durationNs } from './adminRoutes.js';

export interface UserRouteDeps {
  users: UserRegistry;
  audit: AuditTrail;
  /** UI sessions; a disabled user's are ended with their keys. */
  sessions?: SessionStore;
}

const tenantList = z.array(z.string().regex(/^(\*|[A-Za-z0-9.-][A-Za-z0-9_.-]{0,127})$/, 'a tenant name or "*"')).min(1);

const createUserBody = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9@._-]{1,128}$/, '1-128 of A-Z a-z 0-9 @ . _ -'),
    email: z.string().max(320).default(''),
    roles: z.array(z.enum(roles)).min(1),
    tenants: tenantList,
  })
  .strict();

const issueKeyBody = z
  .object({ roles: z.array(z.enum(roles)).min(1).optional(), tenants: tenantList.optional(), expires_in: z.string().optional() })
  .strict();

/** Users (admin): create, list, issue keys within a user's grants, disable (revoking their keys) and enable; every change is audited. */
export function userRoutes(app: FastifyInstance, deps: UserRouteDeps): void {
  const { users, audit } = deps;

  app.post('/api/v1/admin/users', { config: { auditedByRoute: true } }, async (request, reply) => {
    const body = parseJsonBody(createUserBody, request.body);
    const user = await users.create(body, request.identity!.name);
    await audit.record({ action: 'users.create', outcome: 'success', actor: request.identity, remoteAddress: request.ip, target: user.name, detail: { roles: user.roles, tenants: user.tenants } });
    return reply.code(201).send({ user });
  });

  app.get('/api/v1/admin/users', async () => ({ users: users.list() }));

  app.post<{ Params: { name: string } }>('/api/v1/admin/users/:name/keys', { config: { auditedByRoute: true } }, async (request, reply) => {
    const body = parseJsonBody(issueKeyBody, request.body);
    const expiresAt = body.expires_in ? new Date(Date.now() + Number(durationNs(body.expires_in) / 1_000_000n)) : undefined;
    const created = await users.issueKey(request.params.name, { roles: body.roles, tenants: body.tenants, expiresAt }, request.identity!.name);
    await audit.record({
      action: 'keys.create',
      outcome: 'success',
      actor: request.identity,
      remoteAddress: request.ip,
      target: created.id,
      detail: { user: request.params.name, roles: created.roles, tenants: created.tenants, expires_at: expiresAt?.toISOString() ?? null },
    });
    return reply.code(201).send({ id: created.id, key: created.key, note: 'the key is shown only now; store it in your secret manager' });
  });

  for (const [verb, state] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    app.post<{ Params: { name: string } }>(`/api/v1/admin/users/:name/${verb}`, { config: { auditedByRoute: true } }, async (request) => {
      const { user, revokedKeys } = await users.setState(request.params.name, state, request.identity!.name);
      // Every key ever issued to the user, not only those still active: a session outlives its key's revocation otherwise.
      const endedSessions = state === 'disabled' && deps.sessions ? await deps.sessions.endSessionsOf(user.key_ids, 'user disabled') : 0;
      await audit.record({ action: `users.${verb}`, outcome: 'success', actor: request.identity, remoteAddress: request.ip, target: user.name, detail: { revoked_keys: revokedKeys, ended_sessions: endedSessions } });
      return { user, revoked_keys: revokedKeys, ended_sessions: endedSessions };
    });
  }
}
