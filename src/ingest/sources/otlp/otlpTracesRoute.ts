import type { FastifyInstance } from 'fastify';
import { MeshlogError } from '../../../errors.js';
import {
  decodeOtlpTracesJson,
  decodeOtlpTracesProtobuf,
  encodeOtlpTracesResponse,
  otlpTracesResponseJson,
  type DecodedSpans,
} from './otlpTraces.js';
import type { IngestContext } from '../../ingestContext.js';
import { decodeContentEncoding, mediaType } from '../shared/requestBody.js';
import { otlpErrorFormatter } from './otlpLogsRoute.js';

const receiver = 'otlp_http';

/** Spans out of the time window join the rejected ones of partial_success; their neighbours go on. */
export function admitOtlpSpans(ctx: IngestContext, decoded: DecodedSpans, receiver: string): void {
  const { accepted, refused } = ctx.admitSpans(decoded.spans, receiver);
  if (refused.length === 0) return;
  decoded.spans = accepted;
  decoded.rejected += refused.length;
  decoded.rejectionReason ||= refused[0].reason;
}

/** OTLP/HTTP traces: `POST /v1/traces`, protobuf or JSON, optionally compressed, into the spans table. */
export function otlpTracesRoute(app: FastifyInstance, ctx: IngestContext): void {
  app.post('/v1/traces', { config: { formatError: otlpErrorFormatter } }, async (request, reply) => {
    const type = mediaType(request.headers['content-type']);
    const isProtobuf = type === 'application/x-protobuf';
    if (!isProtobuf && type !== 'application/json') {
      throw new MeshlogError('ML_CONTENT_TYPE', `"${type || '(none)'}" (use application/x-protobuf or application/json)`);
    }
    const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    ctx.metrics.bytesReceived.inc({ receiver }, raw.length);
    const body = await decodeContentEncoding(raw, request.headers['content-encoding'], ctx.maxDecompressedBytes);
    const decoded = isProtobuf
      ? decodeOtlpTracesProtobuf(body, request.tenant, receiver)
      : decodeOtlpTracesJson(body, request.tenant, receiver);
    if (decoded.rejected > 0) ctx.metrics.recordsRejected.inc({ receiver, reason: 'invalid' }, decoded.rejected);
    admitOtlpSpans(ctx, decoded, receiver);
    ctx.metrics.recordsReceived.inc({ receiver }, decoded.spans.length);
    await ctx.submitSpans(decoded.spans);
    if (isProtobuf) {
      return reply.type('application/x-protobuf').send(Buffer.from(encodeOtlpTracesResponse(decoded.rejected, decoded.rejectionReason)));
    }
    return reply.type('application/json').send(otlpTracesResponseJson(decoded.rejected, decoded.rejectionReason));
  });
}
