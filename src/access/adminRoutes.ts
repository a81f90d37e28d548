import type { FastifyInstance } from 'fastify';
import type { AuditEventsResponse } from '../api/audit.js';
import type { ApiKeysResponse, CreatedKeyResponse } from '../api/keys.js';
import { z } from 'zod';
import { parseJsonBody } from '../formats/jsonBody.js';
import { nowNs, parseLokiDuration, parseLokiTime } from '../query/lokiParams.js';
import type { ApiKeys } from '../security/apiKeys.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { recordAdminChange } from './adminChange.js';
import { anyTenant, roles } from '../security/identity.js';
import type { AuditStore } from '../storage/stores/auditStore.js';
import type { SessionStore } from '../security/sessions.js';
import { requireWithinGrants, sees, singleTenant } from '../security/grants.js';
import { MeshlogError } from '../errors.js';
import { isOwnTenantName, tenantNameRule } from '../model/tenantName.js';

export interface AdminDeps {
  keys: ApiKeys;
  audit: AuditTrail;
  auditStore: AuditStore;
  /** UI sessions; those logged in with a revoked key end with it. */
  sessions?: SessionStore;
}

const createKeyBody = z
  .object({
    name: z.string().min(1).max(200),
    roles: z.array(z.enum(roles)).min(1),
    tenants: z
      .array(z.string().refine((value) => value === '*' || isOwnTenantName(value), `"*" or ${tenantNameRule}, not starting with _`))
      .min(1),
    /** Go duration (`90d` is accepted as days) until the key expires. */
    expires_in: z.string().optional(),
  })
  .strict();

/** `90d` → ns; Go durations otherwise. */
export function durationNs(value: string): bigint {
  const days = /^(\d+)d$/.exec(value);
  return days ? BigInt(days[1]) * 86_400_000_000_000n : parseLokiDuration(value, 'duration');
}

/** When a key asked to expire in `expiresIn` (a duration, as durationNs reads it) expires; never when absent. */
export function keyExpiry(expiresIn: string | undefined): Date | undefined {
  return expiresIn ? new Date(Date.now() + Number(durationNs(expiresIn) / 1_000_000n)) : undefined;
}

/** Told with a new key: meshlog keeps only its hash. */
export const keyShownOnce = 'the key is shown only now; store it in your secret manager';

/** Key management (admin) and the audit trail (auditor); every change is itself audited. */
export function adminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { keys, audit } = deps;

  app.post<{ Reply: CreatedKeyResponse }>(
    '/api/v1/admin/keys',
    { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
    async (request, reply) => {
      const body = parseJsonBody(createKeyBody, request.body);
      requireWithinGrants(request.identity!, body);
      const expiresAt = keyExpiry(body.expires_in);
      const created = await keys.create({
        name: body.name,
        roles: body.roles,
        tenants: body.tenants,
        expiresAt,
        createdBy: request.identity!.name,
      });
      await recordAdminChange(audit, request, {
        action: 'keys.create',
        target: created.id,
        tenant: singleTenant(body.tenants),
        detail: { name: body.name, roles: body.roles, tenants: body.tenants, expires_at: expiresAt?.toISOString() ?? null },
      });
      return reply.code(201).send({ ...created, note: keyShownOnce });
    },
  );

  // Keys of tenants the admin does not hold are not theirs to see, nor to revoke.
  app.get<{ Reply: ApiKeysResponse }>('/api/v1/admin/keys', { config: { permission: 'admin', tenancy: 'named' } }, async (request) => ({
    keys: keys.list().filter((key) => sees(request.identity!, key)),
  }));

  app.delete<{ Params: { id: string } }>(
    '/api/v1/admin/keys/:id',
    { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
    async (request) => {
      if (!keys.list().some((key) => key.id === request.params.id && sees(request.identity!, key)))
        throw new MeshlogError('ML_NOT_FOUND', `no key ${request.params.id}`);
      const revoked = await keys.revoke(request.params.id, request.identity!.name);
      const endedSessions = deps.sessions ? await deps.sessions.endSessionsOf([revoked.id], 'key revoked') : 0;
      await recordAdminChange(audit, request, {
        action: 'keys.revoke',
        target: revoked.id,
        tenant: singleTenant(revoked.tenants),
        detail: { name: revoked.name, ended_sessions: endedSessions },
      });
      return { key: revoked };
    },
  );

  app.get<{
    Querystring: { since?: string; from?: string; to?: string; action?: string; actor?: string; outcome?: string; limit?: string };
    Reply: AuditEventsResponse;
  }>('/api/v1/audit', { config: { permission: 'audit', tenancy: 'named' } }, async (request) => {
    const { query } = request;
    const sinceNs = query.from ? parseLokiTime(query.from, 0n, 'from') : nowNs() - durationNs(query.since ?? '24h');
    const limit = Math.min(Number(query.limit ?? 1000) || 1000, 10_000);
    // An auditor of some tenants reads their events only: those of other tenants, and installation-wide ones, name what others did and searched.
    const identity = request.identity!;
    const tenants = identity.tenants.includes(anyTenant) ? undefined : identity.tenants;
    // A bounded page for reading; whole populations come from /api/v1/audit/export.
    const untilNs = query.to ? parseLokiTime(query.to, nowNs(), 'to') : undefined;
    return {
      events: await deps.auditStore.events({
        sinceNs,
        untilNs,
        action: query.action,
        actor: query.actor,
        outcome: query.outcome,
        limit,
        tenants,
      }),
    };
  });
}
