import { scrubUrl } from '../observability/credentialScrubber.js';
import type { FastifyRequest } from 'fastify';
import type { LokiStream } from '../query/readMasking.js';
import { hasPermission } from '../security/identity.js';
import type { ReadMaskingDeps } from './readMaskingHook.js';

/**
 * Read masking for answers that are not Loki's (exports, traces): the same
 * rules as readMaskingHook. Readers without `unmask` get sensitive values
 * masked in place; a reader with it gets them as stored, and a read that
 * revealed any is a `data.unmask` audit record.
 */
export async function maskReadStreams(masking: ReadMaskingDeps | undefined, request: FastifyRequest, streams: LokiStream[]): Promise<void> {
  if (!masking?.masker.active) return;
  if (!request.identity || !hasPermission(request.identity, 'unmask')) {
    for (const stream of streams) masking.masker.maskStream(stream);
    return;
  }
  const revealed = structuredClone(streams).reduce((n, stream) => n + masking.masker.maskStream(stream), 0);
  if (revealed === 0) return;
  await masking.audit.record({
    action: 'data.unmask',
    outcome: 'success',
    actor: request.identity,
    remoteAddress: request.ip,
    tenant: request.tenant,
    target: request.routeOptions.url,
    detail: { url: scrubUrl(request.url), values: revealed },
  });
}
