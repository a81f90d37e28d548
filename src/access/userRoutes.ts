import type { FastifyInstance } from 'fastify';
import type { CreatedKeyResponse } from '../api/keys.js';
import type { UserChangeResponse, UserResponse, UsersResponse } from '../api/users.js';
import { z } from 'zod';
import type { AuditTrail } from '../security/auditTrail.js';
import { recordAdminChange } from './adminChange.js';
import type { SessionStore } from '../security/sessions.js';
import { roles, type Identity, type Role } from '../security/identity.js';
import type { UserRegistry } from '../security/userRegistry.js';
import { parseJsonBody } from '../formats/jsonBody.js';
import { keyExpiry, keyShownOnce } from './adminRoutes.js';
import { requireWithinGrants, sees, singleTenant } from '../security/grants.js';
import { MeshlogError } from '../errors.js';
import { isOwnTenantName, tenantNameRule } from '../model/tenantName.js';

export interface UserRouteDeps {
  users: UserRegistry;
  audit: AuditTrail;
  /** UI sessions; a disabled user's are ended with their keys. */
  sessions?: SessionStore;
}

const tenantList = z
  .array(z.string().refine((value) => value === '*' || isOwnTenantName(value), `"*" or ${tenantNameRule}, not starting with _`))
  .min(1);

const createUserBody = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9@._-]{1,128}$/, '1-128 of A-Z a-z 0-9 @ . _ -'),
    email: z.string().max(320).default(''),
    roles: z.array(z.enum(roles)).min(1),
    tenants: tenantList,
  })
  .strict();

const updateUserBody = z
  .object({ email: z.string().max(320).optional(), roles: z.array(z.enum(roles)).min(1).optional(), tenants: tenantList.optional() })
  .strict()
  .refine((body) => Object.keys(body).length > 0, 'give at least one of email, roles, tenants');

const issueKeyBody = z
  .object({ roles: z.array(z.enum(roles)).min(1).optional(), tenants: tenantList.optional(), expires_in: z.string().optional() })
  .strict();

/** Users (admin): create, list, change grants (revoking keys that would exceed them), issue keys within a user's grants, disable (revoking their keys) and enable; every change is audited. */
export function userRoutes(app: FastifyInstance, deps: UserRouteDeps): void {
  const { users, audit } = deps;
  /** A user of tenants the admin does not hold does not exist for them. */
  const visible = (identity: Identity, name: string) => {
    const user = users.list().find((candidate) => candidate.name === name && sees(identity, candidate));
    if (!user) throw new MeshlogError('ML_NOT_FOUND', `no user "${name}"`);
    return user;
  };

  app.post<{ Reply: UserResponse }>(
    '/api/v1/admin/users',
    { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
    async (request, reply) => {
      const body = parseJsonBody(createUserBody, request.body);
      requireWithinGrants(request.identity!, body);
      const user = await users.create(body, request.identity!.name);
      await recordAdminChange(audit, request, {
        action: 'users.create',
        target: user.name,
        tenant: singleTenant(user.tenants),
        detail: { roles: user.roles, tenants: user.tenants },
      });
      return reply.code(201).send({ user });
    },
  );

  app.get<{ Reply: UsersResponse }>('/api/v1/admin/users', { config: { permission: 'admin', tenancy: 'named' } }, async (request) => ({
    users: users.list().filter((user) => sees(request.identity!, user)),
  }));

  app.patch<{ Params: { name: string }; Reply: UserChangeResponse }>(
    '/api/v1/admin/users/:name',
    { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
    async (request) => {
      const body = parseJsonBody(updateUserBody, request.body);
      visible(request.identity!, request.params.name);
      requireWithinGrants(request.identity!, body);
      const { user, before, revokedKeys } = await users.update(request.params.name, body, request.identity!.name);
      const endedSessions =
        revokedKeys.length > 0 && deps.sessions ? await deps.sessions.endSessionsOf(revokedKeys, 'user grants narrowed') : 0;
      await recordAdminChange(audit, request, {
        action: 'users.update',
        target: user.name,
        tenant: singleTenant(user.tenants),
        detail: {
          before: { email: before.email, roles: before.roles, tenants: before.tenants },
          after: { email: user.email, roles: user.roles, tenants: user.tenants },
          revoked_keys: revokedKeys,
          ended_sessions: endedSessions,
        },
      });
      return { user, revoked_keys: revokedKeys, ended_sessions: endedSessions };
    },
  );

  app.post<{ Params: { name: string }; Reply: CreatedKeyResponse }>(
    '/api/v1/admin/users/:name/keys',
    { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
    async (request, reply) => {
      const body = parseJsonBody(issueKeyBody, request.body);
      const target = visible(request.identity!, request.params.name);
      // A key with no grant of its own gets all of the user's: those too must be the granter's.
      requireWithinGrants(request.identity!, { roles: body.roles ?? (target.roles as Role[]), tenants: body.tenants ?? target.tenants });
      const expiresAt = keyExpiry(body.expires_in);
      const created = await users.issueKey(
        request.params.name,
        { roles: body.roles, tenants: body.tenants, expiresAt },
        request.identity!.name,
      );
      await recordAdminChange(audit, request, {
        action: 'keys.create',
        target: created.id,
        tenant: singleTenant(created.tenants),
        detail: { user: request.params.name, roles: created.roles, tenants: created.tenants, expires_at: expiresAt?.toISOString() ?? null },
      });
      return reply.code(201).send({ id: created.id, key: created.key, note: keyShownOnce });
    },
  );

  for (const [verb, state] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    app.post<{ Params: { name: string }; Reply: UserChangeResponse }>(
      `/api/v1/admin/users/:name/${verb}`,
      { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
      async (request) => {
        visible(request.identity!, request.params.name);
        const { user, revokedKeys } = await users.setState(request.params.name, state, request.identity!.name);
        // Every key ever issued to the user, not only those still active: a session outlives its key's revocation otherwise.
        const endedSessions = state === 'disabled' && deps.sessions ? await deps.sessions.endSessionsOf(user.key_ids, 'user disabled') : 0;
        await recordAdminChange(audit, request, {
          action: `users.${verb}`,
          target: user.name,
          tenant: singleTenant(user.tenants),
          detail: { revoked_keys: revokedKeys, ended_sessions: endedSessions },
        });
        return { user, revoked_keys: revokedKeys, ended_sessions: endedSessions };
      },
    );
  }
}
