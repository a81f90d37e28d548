import type { FastifyRequest } from 'fastify';

/**
 * Loki's X-Loki-Response-Encoding-Flags (pkg/util/httpreq): comma-separated flags,
 * echoed as encodingFlags; `categorize-labels` splits each entry's labels into
 * stream labels, structured metadata and parsed labels.
 */
export function encodingFlags(request: FastifyRequest): string[] {
  const raw = request.headers['x-loki-response-encoding-flags'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value ? [...new Set(value.split(','))] : [];
}
