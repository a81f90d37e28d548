import type { SpanRecord } from '../../../model/spanRecord.js';
import { decodeOtlpTracesJson, decodeOtlpTracesProtobuf, encodeOtlpTracesResponse, otlpTracesResponseJson } from './otlpTraces.js';
import { spanSignal } from '../../distributor.js';
import type { HttpIngestProtocol } from '../../httpIngestRoute.js';
import { mediaType } from '../shared/requestBody.js';
import { otlpContentTypes, otlpErrorFormatter, otlpPartialSuccess, type OtlpBatch } from './otlpLogsRoute.js';

/** OTLP/HTTP traces: `POST /v1/traces`, protobuf or JSON, optionally compressed, into the spans table. */
export const otlpTraces: HttpIngestProtocol<SpanRecord, OtlpBatch<SpanRecord>> = {
  receiver: 'otlp_http',
  signal: spanSignal,
  paths: [{ url: '/v1/traces' }],
  contentTypes: otlpContentTypes,
  formatError: otlpErrorFormatter,
  decode: (body, request, { mediaType }) => {
    const decoded =
      mediaType === 'application/x-protobuf'
        ? decodeOtlpTracesProtobuf(body, request.tenant, 'otlp_http')
        : decodeOtlpTracesJson(body, request.tenant, 'otlp_http');
    return { records: decoded.spans, invalid: decoded.rejected, rejectionReason: decoded.rejectionReason };
  },
  reply: (decoded, { refused }, request, reply) => {
    const { rejected, reason } = otlpPartialSuccess(decoded, refused);
    if (mediaType(request.headers['content-type']) === 'application/x-protobuf') {
      return reply.type('application/x-protobuf').send(Buffer.from(encodeOtlpTracesResponse(rejected, reason)));
    }
    return reply.type('application/json').send(otlpTracesResponseJson(rejected, reason));
  },
};
