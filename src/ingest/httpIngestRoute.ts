import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteShorthandOptions } from 'fastify';
import { MeshlogError } from '../errors.js';
import type { ErrorFormatter } from '../http/errorReply.js';
import { countBytes, distribute, type DecodedBatch, type Distributed, type Signal } from './distributor.js';
import type { IngestContext } from './ingestContext.js';
import { decodeContentEncoding, mediaType } from './sources/shared/requestBody.js';

/** One path of an ingest protocol, with what its route adds (a credential in the path, a request rewritten first…). */
export interface IngestPath {
  url: string;
  method?: HTTPMethods;
  options?: RouteShorthandOptions;
}

/**
 * An HTTP ingest protocol as it declares itself; `httpIngestRoute` does the
 * rest, the same for every protocol: content type, body size counted,
 * Content-Encoding undone, decode, then the distributor counts and submits.
 */
export interface HttpIngestProtocol<R, D extends DecodedBatch<R>> {
  /** The `receiver` label of its metrics. */
  receiver: string;
  signal: Signal<R>;
  paths: IngestPath[];
  /** Media types taken ('' for a request without Content-Type) and the hint of the refusal; every type when absent. */
  contentTypes?: { accepted: readonly string[]; hint: string };
  /** How the protocol spells an error (see http/errorReply.ts). */
  formatError: ErrorFormatter;
  /** Bytes (decompressed) into records; `mediaType` is the request's, lowercased, without parameters. */
  decode: (body: Buffer, request: FastifyRequest, wire: { mediaType: string; maxDecompressedBytes: number }) => D | Promise<D>;
  /** The answer once the accepted records are committed: success, or the protocol's per-record refusals (thrown as a MeshlogError or sent). */
  reply: (decoded: D, distributed: Distributed<R>, request: FastifyRequest, reply: FastifyReply) => FastifyReply | Promise<FastifyReply>;
}

/** Serves one HTTP ingest protocol on each of its paths (Loki's pushHandler shape: one handler, parameterised by protocol). */
export function httpIngestRoute<R, D extends DecodedBatch<R>>(
  app: FastifyInstance,
  ctx: IngestContext,
  protocol: HttpIngestProtocol<R, D>,
): void {
  const { receiver, contentTypes } = protocol;
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const type = mediaType(request.headers['content-type']);
    if (contentTypes && !contentTypes.accepted.includes(type)) {
      throw new MeshlogError('ML_CONTENT_TYPE', `"${type || '(none)'}" ${contentTypes.hint}`);
    }
    const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    countBytes(ctx, receiver, raw.length);
    const body = await decodeContentEncoding(raw, request.headers['content-encoding'], ctx.maxDecompressedBytes);
    const decoded = await protocol.decode(body, request, { mediaType: type, maxDecompressedBytes: ctx.maxDecompressedBytes });
    const distributed = await distribute(ctx, protocol.signal, receiver, decoded);
    return protocol.reply(decoded, distributed, request, reply);
  };
  for (const { url, method = 'POST', options } of protocol.paths) {
    // Shippers' write paths: records land in the request's tenant.
    const config = { ...options?.config, permission: 'ingest', tenancy: 'request', formatError: protocol.formatError } as const;
    app.route({ ...options, method, url, config, handler });
  }
}
