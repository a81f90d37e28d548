import type { SpanRecord } from '../../../model/spanRecord.js';
import { decodeOtlpTracesJson, decodeOtlpTracesProtobuf, encodeOtlpTracesResponse, otlpTracesResponseJson } from './otlpTraces.js';
import { spanSignal } from '../../distributor.js';
import { otlpHttpProtocol } from './otlpLogsRoute.js';

/** OTLP/HTTP traces: `POST /v1/traces`, into the spans table. */
export const otlpTraces = otlpHttpProtocol<SpanRecord>({
  signal: spanSignal,
  paths: ['/v1/traces'],
  decode: (body, tenant, protobuf) => {
    const decoded = protobuf ? decodeOtlpTracesProtobuf(body, tenant, 'otlp_http') : decodeOtlpTracesJson(body, tenant, 'otlp_http');
    return { records: decoded.spans, invalid: decoded.rejected, rejectionReason: decoded.rejectionReason };
  },
  encodeResponse: encodeOtlpTracesResponse,
  responseJson: otlpTracesResponseJson,
});
