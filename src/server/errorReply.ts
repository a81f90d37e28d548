import type { FastifyReply, FastifyRequest } from 'fastify';
import { MeshlogError } from '../errors.js';

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
    tenant: string;
  }
}

const jsonError: ErrorFormatter = (error) => ({
  contentType: 'application/json',
  body: JSON.stringify({ status: 'error', errorType: error.code, error: error.message }),
});

/** Turns framework errors (body too large…) into MeshlogErrors so every error has a code. */
export function asMeshlogError(error: unknown): MeshlogError {
  if (error instanceof MeshlogError) return error;
  const statusCode = (error as { statusCode?: number }).statusCode;
  const message = (error as Error).message;
  if (statusCode === 413) return new MeshlogError('ML_BODY_TOO_LARGE', message);
  if (statusCode === 415) return new MeshlogError('ML_CONTENT_TYPE', message);
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) return new MeshlogError('ML_DECODE', message);
  return new MeshlogError('ML_UNAVAILABLE', message, { cause: error });
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const meshlogError = asMeshlogError(error);
  const format = request.routeOptions.config?.formatError ?? jsonError;
  const { contentType, body, status, headers } = format(meshlogError, request);
  if (meshlogError.retryAfterSeconds !== undefined) reply.header('Retry-After', String(meshlogError.retryAfterSeconds));
  if (headers) reply.headers(headers);
  return reply.code(status ?? meshlogError.status).type(contentType).send(body);
}
