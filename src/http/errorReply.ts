import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../observability/metrics.js';
import { scrubText, scrubUrl } from '../observability/credentialScrubber.js';
import { MeshlogError } from '../errors.js';
import { isStackOverflow, nestingRefusal } from '../formats/nesting.js';
import { StorageError, storageOutage } from '../storage/engine/storageError.js';

/** How a protocol spells an error body (and its status, where it differs); routes choose theirs in route config. */
export type ErrorFormatter = (
  error: MeshlogError,
  request: FastifyRequest,
) => { contentType: string; body: string | Uint8Array; status?: number; headers?: Record<string, string> };

declare module 'fastify' {
  interface FastifyContextConfig {
    formatError?: ErrorFormatter;
  }
  interface FastifyRequest {
    /** The tenant the request acts on; for a multi-tenant read, its tenants joined by `|` (matching no stored tenant). */
    tenant: string;
    /** Every tenant the request acts on: one, or several for a multi-tenant read (a route declaring `multiTenant`, routeAccess.ts). */
    tenants: string[];
  }
}

const jsonError: ErrorFormatter = (error) => ({
  contentType: 'application/json',
  body: JSON.stringify({ status: 'error', errorType: error.code, error: error.message }),
});

/** A short id for one internal error, in the answer and in the log line. */
export function newErrorId(): string {
  return randomBytes(6).toString('hex');
}

/**
 * Every error as a MeshlogError with a code, the one place that decides what
 * a client may retry: only a storage outage (ML_UNAVAILABLE, classified where
 * storage throws) is retryable. Framework errors keep their 4xx; a stack
 * overflow is input nested too deeply (400); storage refusing what was sent,
 * and anything unexpected, is a non-retryable 500 with an error id.
 */
export function asMeshlogError(error: unknown): MeshlogError {
  if (error instanceof MeshlogError) return error;
  const statusCode = (error as { statusCode?: number } | null)?.statusCode;
  const message = (error as Error | null)?.message ?? String(error);
  if (statusCode === 413) return new MeshlogError('ML_BODY_TOO_LARGE', message);
  if (statusCode === 415) return new MeshlogError('ML_CONTENT_TYPE', message);
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) return new MeshlogError('ML_DECODE', message);
  if (error instanceof StorageError && error.kind === 'unavailable') return storageOutage(error);
  if (isStackOverflow(error)) return new MeshlogError('ML_DECODE', `input ${nestingRefusal}`, { cause: error });
  return new MeshlogError('ML_INTERNAL', undefined, { cause: error, errorId: newErrorId() });
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const meshlogError = asMeshlogError(error);
  const format = request.routeOptions.config?.formatError ?? jsonError;
  const { contentType, body, status, headers } = format(meshlogError, request);
  if (meshlogError.retryAfterSeconds !== undefined) reply.header('Retry-After', String(meshlogError.retryAfterSeconds));
  if (headers) reply.headers(headers);
  return reply
    .code(status ?? meshlogError.status)
    .type(contentType)
    .send(body);
}

/**
 * The HTTP API's error handler: every refusal counted by code; 5xx logged
 * with the error id (and, for ML_INTERNAL, the stack) that the answer names.
 */
export function errorHandler(metrics: Pick<Metrics, 'requestsRejected'>) {
  return (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const meshlogError = asMeshlogError(error);
    // An error text may quote what the client sent (a URL, a header): never a credential back, nor into the log.
    meshlogError.message = scrubText(meshlogError.message);
    const url = scrubUrl(request.url);
    metrics.requestsRejected.inc({ code: meshlogError.code });
    if (meshlogError.status >= 500) {
      const cause = meshlogError.cause as Error | undefined;
      request.log.error(
        {
          code: meshlogError.code,
          errorId: meshlogError.errorId,
          url,
          reason: meshlogError.message,
          cause: cause?.message,
          stack: meshlogError.errorId ? cause?.stack : undefined,
        },
        'request failed',
      );
    } else request.log.debug({ code: meshlogError.code, url, reason: meshlogError.message }, 'request refused');
    return sendError(meshlogError, request, reply);
  };
}
