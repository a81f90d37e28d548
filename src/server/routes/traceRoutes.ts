import type { FastifyInstance } from 'fastify';
import { MeshlogError } from '../../errors.js';
import type { TraceQueries } from '../../storage/traceQueries.js';

/** One trace: every span and every log line that carries its id, in the request's tenant. */
export function traceRoutes(app: FastifyInstance, traces: TraceQueries): void {
  app.get<{ Params: { traceId: string } }>('/api/v1/traces/:traceId', { config: { permission: 'query' } }, async (request) => {
    const { traceId } = request.params;
    if (!/^([0-9a-fA-F]{16}|[0-9a-fA-F]{32})$/.test(traceId)) throw new MeshlogError('ML_QUERY_INVALID', 'a trace id is 16 or 32 hex characters');
    return { traceId: traceId.toLowerCase(), ...(await traces.trace(request.tenant, traceId)) };
  });
}
