import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { SavedQueriesResponse, SavedQueryResponse } from '../../api/savedQueries.js';
import { z } from 'zod';
import { MeshlogError } from '../../errors.js';
import { parseLogql } from '../logql/parser.js';
import type { AuditTrail } from '../../security/auditTrail.js';
import type { SavedQueryStore } from '../../storage/stores/savedQueryStore.js';
import { parseJsonBody } from '../../formats/jsonBody.js';

export interface SavedQueryRouteDeps {
  store: SavedQueryStore;
  audit: AuditTrail;
}

/** Explore's range bounds: `now`, `now-15m`, or Unix milliseconds. */
const rangeBound = z.string().regex(/^(now(-\d+[smhdw])?|\d{1,16})$/, 'now, now-<n>[smhdw] or Unix milliseconds');

const saveBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    query: z.string().min(1).max(20_000),
    from: rangeBound.default('now-1h'),
    to: rangeBound.default('now'),
    shared: z.boolean().default(false),
  })
  .strict();

/**
 * Saved LogQL queries (query permission: analysts and admins), per tenant: each
 * caller sees the ones they saved and the ones shared within the tenant, and
 * only deletes their own. Saves and deletes are audited.
 */
export function savedQueryRoutes(app: FastifyInstance, deps: SavedQueryRouteDeps): void {
  const { store, audit } = deps;

  app.get<{ Reply: SavedQueriesResponse }>(
    '/api/v1/saved-queries',
    { config: { permission: 'query', tenancy: 'request' } },
    async (request) => ({
      savedQueries: await store.visibleTo(request.tenant, request.identity!.id),
    }),
  );

  app.post<{ Reply: SavedQueryResponse }>(
    '/api/v1/saved-queries',
    { config: { permission: 'query', tenancy: 'request', auditedByRoute: true } },
    async (request, reply) => {
      const body = parseJsonBody(saveBody, request.body);
      // A query that cannot run is refused now, with the parser's reason, rather than when it is loaded.
      parseLogql(body.query);
      const identity = request.identity!;
      const saved = {
        tenant: request.tenant,
        id: randomUUID(),
        owner_id: identity.id,
        owner_name: identity.name,
        name: body.name,
        query: body.query,
        range_from: body.from,
        range_to: body.to,
        shared: body.shared,
        created_at: new Date().toISOString(),
      };
      await store.save(saved);
      await audit.record({
        action: 'saved_queries.create',
        outcome: 'success',
        actor: identity,
        remoteAddress: request.ip,
        tenant: request.tenant,
        target: saved.id,
        detail: { name: saved.name, query: saved.query, shared: saved.shared },
      });
      return reply.code(201).send({ savedQuery: saved });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/saved-queries/:id',
    { config: { permission: 'query', tenancy: 'request', auditedByRoute: true } },
    async (request) => {
      const identity = request.identity!;
      const saved = await store.get(request.tenant, request.params.id);
      // Another user's unshared query does not exist for this caller.
      if (!saved || (saved.owner_id !== identity.id && !saved.shared))
        throw new MeshlogError('ML_NOT_FOUND', `no saved query ${request.params.id}`);
      if (saved.owner_id !== identity.id) {
        await audit.record({
          action: 'saved_queries.delete',
          outcome: 'denied',
          actor: identity,
          remoteAddress: request.ip,
          tenant: request.tenant,
          target: saved.id,
          detail: { name: saved.name, owner: saved.owner_name },
        });
        throw new MeshlogError('ML_FORBIDDEN', `saved query "${saved.name}" belongs to ${saved.owner_name}: only its owner may delete it`);
      }
      await store.delete(saved);
      await audit.record({
        action: 'saved_queries.delete',
        outcome: 'success',
        actor: identity,
        remoteAddress: request.ip,
        tenant: request.tenant,
        target: saved.id,
        detail: { name: saved.name, query: saved.query },
      });
      return { deleted: saved.id };
    },
  );
}
