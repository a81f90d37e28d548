import type { LogRecord } from '../../../model/logRecord.js';
import { decodeOtlpLogsJson, decodeOtlpLogsProtobuf, encodeOtlpLogsResponse, encodeRpcStatus, otlpLogsResponseJson } from './otlpLogs.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import { logSignal, type DecodedBatch, type Signal } from '../../distributor.js';
import type { HttpIngestProtocol } from '../../httpIngestRoute.js';
import type { Refused } from '../shared/timeWindow.js';
import { mediaType } from '../shared/requestBody.js';

/** gRPC status codes for google.rpc.Status, from the HTTP status of the error. */
function rpcCode(status: number): number {
  if (status === 401) return 16; // UNAUTHENTICATED
  if (status === 403) return 7; // PERMISSION_DENIED
  if (status === 429) return 8; // RESOURCE_EXHAUSTED
  if (status === 503) return 14; // UNAVAILABLE
  if (status === 415) return 12; // UNIMPLEMENTED
  if (status >= 500) return 13; // INTERNAL
  return 3; // INVALID_ARGUMENT
}

/** OTLP errors are google.rpc.Status, in the encoding the client sent. */
export const otlpErrorFormatter: ErrorFormatter = (error, request) =>
  mediaType(request.headers['content-type']) === 'application/x-protobuf'
    ? { contentType: 'application/x-protobuf', body: encodeRpcStatus(rpcCode(error.status), error.message) }
    : { contentType: 'application/json', body: JSON.stringify({ code: rpcCode(error.status), message: error.message }) };

export const otlpContentTypes = {
  accepted: ['application/x-protobuf', 'application/json'],
  hint: '(use application/x-protobuf or application/json)',
};

/** An OTLP request as decoded: records to store, those refused as invalid and the first reason. */
export interface OtlpBatch<R> extends DecodedBatch<R> {
  rejectionReason: string;
}

/** OTLP's partial_success: the invalid records and those out of the time window, with the first reason; their neighbours go on. */
export function otlpPartialSuccess<R>(decoded: OtlpBatch<R>, refused: Refused<R>[]): { rejected: number; reason: string } {
  return { rejected: decoded.invalid + refused.length, reason: decoded.rejectionReason || (refused[0]?.reason ?? '') };
}

/**
 * An OTLP/HTTP signal: protobuf or JSON, optionally compressed, answered
 * with its Export response (partial success) in the encoding the client sent.
 */
export function otlpHttpProtocol<R>(options: {
  signal: Signal<R>;
  paths: string[];
  decode: (body: Buffer, tenant: string, protobuf: boolean) => OtlpBatch<R>;
  encodeResponse: (rejected: number, reason: string) => Uint8Array;
  responseJson: (rejected: number, reason: string) => object;
}): HttpIngestProtocol<R, OtlpBatch<R>> {
  return {
    receiver: 'otlp_http',
    signal: options.signal,
    paths: options.paths.map((url) => ({ url })),
    contentTypes: { accepted: ['application/x-protobuf', 'application/json'], hint: '(use application/x-protobuf or application/json)' },
    formatError: otlpErrorFormatter,
    decode: (body, request, { mediaType }) => options.decode(body, request.tenant, mediaType === 'application/x-protobuf'),
    reply: (decoded, { refused }, request, reply) => {
      const { rejected, reason } = otlpPartialSuccess(decoded, refused);
      if (mediaType(request.headers['content-type']) === 'application/x-protobuf') {
        return reply.type('application/x-protobuf').send(Buffer.from(options.encodeResponse(rejected, reason)));
      }
      return reply.type('application/json').send(options.responseJson(rejected, reason));
    },
  };
}

/** OTLP/HTTP logs: `POST /v1/logs` (and Loki's `/otlp/v1/logs`). */
export const otlpLogs = otlpHttpProtocol<LogRecord>({
  signal: logSignal,
  paths: ['/v1/logs', '/otlp/v1/logs'],
  decode: (body, tenant, protobuf) => {
    const decoded = protobuf ? decodeOtlpLogsProtobuf(body, tenant, 'otlp_http') : decodeOtlpLogsJson(body, tenant, 'otlp_http');
    return { records: decoded.records, invalid: decoded.rejected, rejectionReason: decoded.rejectionReason };
  },
  encodeResponse: encodeOtlpLogsResponse,
  responseJson: otlpLogsResponseJson,
});
