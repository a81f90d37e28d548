import type { FastifyInstance } from 'fastify';
import { MeshlogError } from '../../../errors.js';
import { decodeZipkinSpans } from './zipkinSpans.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import type { IngestContext } from '../../ingestContext.js';
import { decodeContentEncoding, mediaType } from '../shared/requestBody.js';

const receiver = 'zipkin';

/** Zipkin's collector answers errors as plain text. */
const zipkinErrorFormatter: ErrorFormatter = (error) => ({ contentType: 'text/plain; charset=utf-8', body: `${error.message}\n` });

/** Zipkin v2: `POST /api/v2/spans` (JSON), 202 once the spans are committed. */
export function zipkinSpansRoute(app: FastifyInstance, ctx: IngestContext): void {
  app.post('/api/v2/spans', { config: { formatError: zipkinErrorFormatter } }, async (request, reply) => {
    const type = mediaType(request.headers['content-type']);
    if (type !== '' && type !== 'application/json') {
      throw new MeshlogError('ML_CONTENT_TYPE', `"${type}" (Zipkin v2 JSON, application/json, is accepted)`);
    }
    const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    ctx.metrics.bytesReceived.inc({ receiver }, raw.length);
    const body = await decodeContentEncoding(raw, request.headers['content-encoding'], ctx.maxDecompressedBytes);
    const decoded = decodeZipkinSpans(body, request.tenant, receiver);
    const { accepted, refused } = ctx.admitSpans(decoded.spans, receiver);
    decoded.spans = accepted;
    // Zipkin answers a bad span with 400 for the request: the valid spans are stored first, as for other refusals.
    for (const { record, reason } of refused) decoded.rejections.push(`span ${record.spanId}: ${reason}`);
    ctx.metrics.recordsReceived.inc({ receiver }, decoded.spans.length);
    if (decoded.spans.length > 0) await ctx.submitSpans(decoded.spans);
    if (decoded.rejections.length > 0) {
      ctx.metrics.recordsRejected.inc({ receiver, reason: 'invalid' }, decoded.rejections.length - refused.length);
      // The valid spans are committed; 400 tells the tracer not to resend.
      throw new MeshlogError(
        'ML_DECODE',
        `${decoded.rejections.length} spans refused, ${decoded.spans.length} accepted: ${decoded.rejections.slice(0, 10).join('; ')}`,
      );
    }
    return reply.code(202).send();
  });
}
