import type { FastifyInstance } from 'fastify';
import type { TraceResponse } from '../../api/trace.js';
import { MeshlogError } from '../../errors.js';
import type { LokiStream } from '../readMasking.js';
import type { TraceQueries } from '../../storage/logs/traceQueries.js';

/** One trace: every span and every log line that carries its id, in the request's tenant. */
export function traceRoutes(app: FastifyInstance, traces: TraceQueries): void {
  app.get<{ Params: { traceId: string }; Reply: TraceResponse }>(
    '/api/v1/traces/:traceId',
    { config: { permission: 'query', tenancy: 'request' } },
    async (request) => {
      const { traceId } = request.params;
      if (!/^([0-9a-fA-F]{16}|[0-9a-fA-F]{32})$/.test(traceId))
        throw new MeshlogError('ML_QUERY_INVALID', 'a trace id is 16 or 32 hex characters');
      const { spans, logs } = await traces.trace(request.tenant, traceId);
      // Attributes and bodies are masked like Loki answers: each map a label set, each body a line.
      const streams: LokiStream[] = [
        ...logs.flatMap((log) => [
          { stream: log.log_attributes, values: [[log.ts, log.body]] as [string, string][] },
          { stream: log.resource_attributes, values: [] },
        ]),
        ...spans.flatMap((span) => [
          { stream: span.span_attributes, values: [] },
          { stream: span.resource_attributes, values: [] },
        ]),
      ];
      await request.readPolicy.streams(streams);
      logs.forEach((log, i) => (log.body = streams[i * 2].values[0][1]));
      return { traceId: traceId.toLowerCase(), spans, logs };
    },
  );
}
