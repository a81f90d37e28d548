import type { FastifyInstance } from 'fastify';
import type { ErasureEvidence, ErasureRequestResponse, ErasureRequestsResponse, ErasureRequestView } from '../api/erasure.js';
import { z } from 'zod';
import { MeshlogError } from '../errors.js';
import type { ErasureRequests } from './erasureRequests.js';
import { tenantFor, type Identity } from '../security/identity.js';
import { holdsTenants } from '../security/grants.js';
import type { ErasureRequest } from '../storage/stores/erasureStore.js';
import { parseJsonBody } from '../formats/jsonBody.js';
import { rfc3339Ns } from '../formats/rfc3339Time.js';
import { isTenantName, tenantNameRule } from '../model/tenantName.js';

export interface ErasureDeps {
  erasures: ErasureRequests;
}

const requestBody = z
  .object({
    tenant: z.string().refine(isTenantName, tenantNameRule),
    /** LogQL stream selector: which streams of the tenant. */
    selector: z.string().min(2).max(4000),
    /** RFC 3339, inclusive. */
    from: z.string().datetime({ offset: true }),
    to: z.string().datetime({ offset: true }),
    reason: z.string().min(1).max(2000),
  })
  .strict();

const cancelBody = z.object({ reason: z.string().min(1).max(2000) }).strict();

/** The request with its scope readable (RFC 3339 times) and its evidence as an object. */
function view(request: ErasureRequest): ErasureRequestView {
  const { from_ns, to_ns, evidence, ...rest } = request;
  const iso = (ns: string) => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
  return { ...rest, from: iso(from_ns), to: iso(to_ns), evidence: evidence ? (JSON.parse(evidence) as ErasureEvidence) : null };
}

/** Erasure requests (admin): request with a receipt, list, cancel within the window, execute now; each audited. */
export function erasureRoutes(app: FastifyInstance, deps: ErasureDeps): void {
  const { erasures } = deps;
  /** A request about a tenant the credential does not hold does not exist for it. */
  const visible = async (identity: Identity, id: string) => {
    const found = await erasures.get(id);
    if (!holdsTenants(identity, [found.tenant])) throw new MeshlogError('ML_NOT_FOUND', `no erasure request ${id}`);
    return found;
  };

  app.post<{ Reply: ErasureRequestResponse }>(
    '/api/v1/admin/erasure-requests',
    { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
    async (request, reply) => {
      const body = parseJsonBody(requestBody, request.body);
      const tenant = tenantFor(request.identity!, body.tenant);
      const fromNs = rfc3339Ns(body.from);
      const toNs = rfc3339Ns(body.to);
      if (fromNs > toNs) throw new MeshlogError('ML_DECODE', 'from is after to');
      const created = await erasures.request(
        { tenant, selector: body.selector, fromNs, toNs, reason: body.reason },
        request.identity!,
        request.ip,
      );
      return reply.code(201).send({ request: view(created) });
    },
  );

  // Receipts and evidence are for auditors too; filing, cancelling and executing stay admin actions.
  const evidence = { config: { permission: 'audit', tenancy: 'named' } as const };
  app.get<{ Reply: ErasureRequestsResponse }>('/api/v1/admin/erasure-requests', evidence, async (request) => ({
    requests: (await erasures.list()).filter((found) => holdsTenants(request.identity!, [found.tenant])).map(view),
  }));

  app.get<{ Params: { id: string }; Reply: ErasureRequestResponse }>('/api/v1/admin/erasure-requests/:id', evidence, async (request) => ({
    request: view(await visible(request.identity!, request.params.id)),
  }));

  app.post<{ Params: { id: string } }>(
    '/api/v1/admin/erasure-requests/:id/cancel',
    { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
    async (request) => {
      const { reason } = parseJsonBody(cancelBody, request.body);
      await visible(request.identity!, request.params.id);
      return { request: view(await erasures.cancel(request.params.id, reason, request.identity!, request.ip)) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/admin/erasure-requests/:id/execute',
    { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } },
    async (request) => {
      await visible(request.identity!, request.params.id);
      return { request: view(await erasures.execute(request.params.id, 'admin request', request.identity!, request.ip)) };
    },
  );

  /** Executes every request whose cancellation window has ended (what the schedule does), now. */
  app.post('/api/v1/admin/erasure-requests/run', { config: { permission: 'admin', tenancy: 'all', auditedByRoute: true } }, async () => ({
    executed: (await erasures.runDue()).map(view),
  }));
}
