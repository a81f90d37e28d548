import type { FastifyInstance } from 'fastify';
import { MeshlogError } from '../../../errors.js';
import {
  decodeOtlpLogsJson,
  decodeOtlpLogsProtobuf,
  encodeOtlpLogsResponse,
  encodeRpcStatus,
  otlpLogsResponseJson,
  type DecodedLogs,
} from './otlpLogs.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import type { IngestContext } from '../../ingestContext.js';
import { decodeContentEncoding, mediaType } from '../shared/requestBody.js';

const receiver = 'otlp_http';

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

/** Records out of the time window join the rejected ones of partial_success; their neighbours go on. */
export function admitOtlpLogs(ctx: IngestContext, decoded: DecodedLogs, receiver: string): void {
  const { accepted, refused } = ctx.admit(decoded.records, receiver);
  if (refused.length === 0) return;
  decoded.records = accepted;
  decoded.rejected += refused.length;
  decoded.rejectionReason ||= refused[0].reason;
}

/** OTLP/HTTP logs: `POST /v1/logs` (and Loki's `/otlp/v1/logs`), protobuf or JSON, optionally compressed. */
export function otlpLogsRoute(app: FastifyInstance, ctx: IngestContext): void {
  const handler = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const type = mediaType(request.headers['content-type']);
    const isProtobuf = type === 'application/x-protobuf';
    if (!isProtobuf && type !== 'application/json') {
      throw new MeshlogError('ML_CONTENT_TYPE', `"${type || '(none)'}" (use application/x-protobuf or application/json)`);
    }
    const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    ctx.metrics.bytesReceived.inc({ receiver }, raw.length);
    const body = await decodeContentEncoding(raw, request.headers['content-encoding'], ctx.maxDecompressedBytes);
    const decoded = isProtobuf
      ? decodeOtlpLogsProtobuf(body, request.tenant, receiver)
      : decodeOtlpLogsJson(body, request.tenant, receiver);
    if (decoded.rejected > 0) ctx.metrics.recordsRejected.inc({ receiver, reason: 'invalid' }, decoded.rejected);
    admitOtlpLogs(ctx, decoded, receiver);
    ctx.metrics.recordsReceived.inc({ receiver }, decoded.records.length);
    await ctx.submit(decoded.records, receiver);
    if (isProtobuf) {
      return reply.type('application/x-protobuf').send(Buffer.from(encodeOtlpLogsResponse(decoded.rejected, decoded.rejectionReason)));
    }
    return reply.type('application/json').send(otlpLogsResponseJson(decoded.rejected, decoded.rejectionReason));
  };
  for (const url of ['/v1/logs', '/otlp/v1/logs']) {
    app.post(url, { config: { formatError: otlpErrorFormatter } }, handler);
  }
}
