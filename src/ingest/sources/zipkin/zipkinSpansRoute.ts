import { MeshlogError } from '../../../errors.js';
import type { SpanRecord } from '../../../model/spanRecord.js';
import { decodeZipkinSpans, type DecodedZipkin } from './zipkinSpans.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import { spanSignal } from '../../distributor.js';
import type { HttpIngestProtocol } from '../../httpIngestRoute.js';

const receiver = 'zipkin';

/** Zipkin's collector answers errors as plain text. */
const zipkinErrorFormatter: ErrorFormatter = (error) => ({ contentType: 'text/plain; charset=utf-8', body: `${error.message}\n` });

/** Zipkin v2: `POST /api/v2/spans` (JSON), 202 once the spans are committed. */
export const zipkinSpans: HttpIngestProtocol<SpanRecord, DecodedZipkin & { records: SpanRecord[]; invalid: number }> = {
  receiver,
  signal: spanSignal,
  paths: [{ url: '/api/v2/spans' }],
  contentTypes: { accepted: ['', 'application/json'], hint: '(Zipkin v2 JSON, application/json, is accepted)' },
  formatError: zipkinErrorFormatter,
  decode: (body, request) => {
    const decoded = decodeZipkinSpans(body, request.tenant, receiver);
    return { ...decoded, records: decoded.spans, invalid: decoded.rejections.length };
  },
  reply: (decoded, { accepted, refused }, _request, reply) => {
    // Zipkin answers a bad span with 400 for the request: the valid spans are stored first, as for other refusals.
    const rejections = [...decoded.rejections, ...refused.map(({ record, reason }) => `span ${record.spanId}: ${reason}`)];
    if (rejections.length > 0) {
      // The valid spans are committed; 400 tells the tracer not to resend.
      throw new MeshlogError(
        'ML_DECODE',
        `${rejections.length} spans refused, ${accepted.length} accepted: ${rejections.slice(0, 10).join('; ')}`,
      );
    }
    return reply.code(202).send();
  },
};
