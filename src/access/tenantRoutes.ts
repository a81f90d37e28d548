import type { FastifyInstance } from 'fastify';
import type { TenantChoicesResponse, TenantResponse, TenantsResponse } from '../api/tenants.js';
import { z } from 'zod';
import type { AuditTrail } from '../security/auditTrail.js';
import { recordAdminChange } from './adminChange.js';
import type { TenantRegistry } from '../security/tenantRegistry.js';
import { parseJsonBody } from '../formats/jsonBody.js';
import { holdsTenants } from '../security/grants.js';
import { anyTenant, tenantFor } from '../security/identity.js';
import { isOwnTenantName, tenantNameRule } from '../model/tenantName.js';

export interface TenantRouteDeps {
  tenants: TenantRegistry;
  audit: AuditTrail;
}

const createTenantBody = z
  .object({
    // Tenants starting with `_` are meshlog's own.
    name: z.string().refine(isOwnTenantName, `${tenantNameRule}, not starting with _`),
    description: z.string().max(500).default(''),
  })
  .strict();

/** The tenant registry (admin): register, list, disable and enable tenants; every change is audited. */
export function tenantRoutes(app: FastifyInstance, deps: TenantRouteDeps): void {
  const { tenants, audit } = deps;

  app.post<{ Reply: TenantResponse }>(
    '/api/v1/admin/tenants',
    { config: { permission: 'admin', tenancy: 'all', auditedByRoute: true } },
    async (request, reply) => {
      const body = parseJsonBody(createTenantBody, request.body);
      const tenant = await tenants.create(body.name, body.description, request.identity!.name);
      await recordAdminChange(audit, request, {
        action: 'tenants.create',
        tenant: tenant.name,
        target: tenant.name,
        detail: { description: tenant.description },
      });
      return reply.code(201).send({ tenant });
    },
  );

  app.get<{ Reply: TenantsResponse }>('/api/v1/admin/tenants', { config: { permission: 'admin', tenancy: 'named' } }, async (request) => ({
    tenants: tenants.list().filter((tenant) => holdsTenants(request.identity!, [tenant.name])),
  }));

  // The UI's tenant picker: the tenants this credential may choose among (registered ones and `default` for `*`).
  app.get<{ Reply: TenantChoicesResponse }>('/api/v1/tenants', { config: { permission: 'query', tenancy: 'named' } }, async (request) => {
    const held = request.identity!.tenants;
    if (!held.includes(anyTenant)) return { tenants: held };
    return {
      tenants: [
        ...new Set([
          'default',
          ...tenants
            .list()
            .filter((tenant) => tenant.state === 'active')
            .map((tenant) => tenant.name),
        ]),
      ].sort(),
    };
  });

  for (const [verb, state] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    app.post<{ Params: { name: string }; Reply: TenantResponse }>(
      `/api/v1/admin/tenants/:name/${verb}`,
      { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
      async (request) => {
        const tenant = await tenants.setState(tenantFor(request.identity!, request.params.name), state, request.identity!.name);
        await recordAdminChange(audit, request, {
          action: `tenants.${verb}`,
          tenant: tenant.name,
          target: tenant.name,
        });
        return { tenant };
      },
    );
  }
}
