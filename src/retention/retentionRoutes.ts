import type { FastifyInstance } from 'fastify';
import type { LegalHoldResponse, RetentionResponse, RetentionRunResponse } from '../api/retention.js';
import { z } from 'zod';
import type { Disposer } from './disposer.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { RetentionStore } from '../storage/stores/retentionStore.js';
import { parseJsonBody } from '../formats/jsonBody.js';
import { holdsTenants } from '../security/grants.js';
import { tenantFor } from '../security/identity.js';
import { MeshlogError } from '../errors.js';
import { isTenantName, tenantNameRule } from '../model/tenantName.js';

export interface RetentionDeps {
  disposer: Disposer;
  store: RetentionStore;
  audit: AuditTrail;
}

const holdBody = z
  .object({
    name: z.string().min(1).max(200),
    tenant: z.string().refine(isTenantName, tenantNameRule),
    service: z.string().min(1).optional(),
    /** RFC 3339; absent = from the beginning / until released. */
    from: z.string().datetime({ offset: true }).optional(),
    to: z.string().datetime({ offset: true }).optional(),
    reason: z.string().min(1).max(2000),
  })
  .strict();

/** Retention policies in force, legal holds (place, release) and an on-demand disposal run: admin actions, each audited. */
export function retentionRoutes(app: FastifyInstance, deps: RetentionDeps): void {
  const { disposer, audit } = deps;

  // Policies and holds of tenants the admin does not hold are not theirs to see; policies for every tenant are.
  app.get<{ Reply: RetentionResponse }>(
    '/api/v1/admin/retention',
    { config: { permission: 'admin', tenancy: 'named' } },
    async (request) => ({
      policies: disposer.policies.filter((policy) => !policy.tenant || holdsTenants(request.identity!, [policy.tenant])),
      holds: (await deps.store.holds()).filter((hold) => holdsTenants(request.identity!, [hold.tenant])),
    }),
  );

  app.post<{ Reply: RetentionRunResponse }>(
    '/api/v1/admin/retention/run',
    { config: { permission: 'admin', tenancy: 'all', auditedByRoute: true } },
    async (request) => ({
      disposed: await disposer.run('admin request', request.identity),
    }),
  );

  app.post<{ Reply: LegalHoldResponse }>(
    '/api/v1/admin/legal-holds',
    { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
    async (request, reply) => {
      const body = parseJsonBody(holdBody, request.body);
      const hold = await disposer.placeHold({ ...body, tenant: tenantFor(request.identity!, body.tenant) }, request.identity!);
      await audit.record({
        action: 'legal_hold.place',
        outcome: 'success',
        actor: request.identity,
        remoteAddress: request.ip,
        tenant: hold.tenant,
        target: hold.id,
        detail: { ...hold },
      });
      return reply.code(201).send({ hold });
    },
  );

  app.delete<{ Params: { id: string }; Reply: LegalHoldResponse }>(
    '/api/v1/admin/legal-holds/:id',
    { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
    async (request) => {
      const held = (await deps.store.holds()).find(
        (candidate) => candidate.id === request.params.id && holdsTenants(request.identity!, [candidate.tenant]),
      );
      if (!held) throw new MeshlogError('ML_NOT_FOUND', `no legal hold ${request.params.id}`);
      const hold = await disposer.releaseHold(held.id, request.identity!);
      await audit.record({
        action: 'legal_hold.release',
        outcome: 'success',
        actor: request.identity,
        remoteAddress: request.ip,
        tenant: hold.tenant,
        target: hold.id,
        detail: { name: hold.name },
      });
      return { hold };
    },
  );
}
