import { scrubUrl } from '../observability/credentialScrubber.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ReadMasker, LokiStream } from '../query/readMasking.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { hasPermission } from '../security/identity.js';
import type { QueryMasking } from '../query/logql/engine.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for a reader who may not unmask: the query engine masks entries before any stage. */
    queryMasking: QueryMasking | undefined;
  }
}

export interface ReadMaskingDeps {
  masker: ReadMasker;
  audit: AuditTrail;
}

/**
 * Who sees sensitive values: readers without the `unmask` permission get
 * them masked; a reader with it gets them as stored, and each read that
 * revealed something is an audit record (`data.unmask`).
 */
export function readMaskingHook(app: FastifyInstance, deps: ReadMaskingDeps): void {
  if (!deps.masker.active) return;
  const queryMasking = deps.masker.queryMasking;
  app.addHook('preHandler', async (request) => {
    if (request.identity && !hasPermission(request.identity, 'unmask')) request.queryMasking = queryMasking;
  });
  app.addHook('preSerialization', async (request: FastifyRequest, _reply, payload: unknown) => {
    const route = request.routeOptions.url ?? '';
    if (request.routeOptions.config?.permission !== 'query' || !route.startsWith('/loki/api/v1/')) return payload;
    const params = request.params as Record<string, string>;
    if (!request.identity || !hasPermission(request.identity, 'unmask')) {
      deps.masker.maskLokiAnswer(route, params, payload);
      return payload;
    }
    const revealed = deps.masker.maskLokiAnswer(route, params, structuredClone(payload));
    if (revealed > 0) {
      await deps.audit.record({
        action: 'data.unmask',
        outcome: 'success',
        actor: request.identity,
        remoteAddress: request.ip,
        tenant: request.tenant,
        target: route,
        detail: { url: scrubUrl(request.url), values: revealed },
      });
    }
    return payload;
  });
}

/**
 * The live tail's masking for one request: a function masking each frame's
 * streams, or undefined for a reader who may unmask (audited once, when the
 * tail opens, since it reveals whatever arrives while it stays open).
 */
export function tailMasking(deps: ReadMaskingDeps): (request: FastifyRequest) => Promise<((streams: LokiStream[]) => void) | undefined> {
  return async (request) => {
    if (!deps.masker.active) return undefined;
    if (!request.identity || !hasPermission(request.identity, 'unmask'))
      return (streams) => streams.forEach((stream) => deps.masker.maskStream(stream));
    await deps.audit.record({
      action: 'data.unmask',
      outcome: 'success',
      actor: request.identity,
      remoteAddress: request.ip,
      tenant: request.tenant,
      target: request.routeOptions.url,
      detail: { url: scrubUrl(request.url), tail: true },
    });
    return undefined;
  };
}
