import type { FastifyInstance } from 'fastify';
import { MeshlogError } from '../../../errors.js';
import { decodeLokiPushJson, decodeLokiPushProtobuf } from './lokiPush.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import type { IngestContext } from '../../ingestContext.js';
import { decodeContentEncoding, mediaType } from '../shared/requestBody.js';

const receiver = 'loki';

/** Loki answers errors as plain text, which Promtail and Alloy log verbatim. */
const lokiErrorFormatter: ErrorFormatter = (error) => ({ contentType: 'text/plain; charset=utf-8', body: `${error.message}\n` });

/** A stream's labels as Loki prints them: {a="b", c="d"}. */
function streamText(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ')}}`.slice(0, 200);
}

/** Loki push: `POST /loki/api/v1/push`, snappy protobuf (the default) or JSON, 204 once committed. */
export function lokiPushRoute(app: FastifyInstance, ctx: IngestContext): void {
  app.post('/loki/api/v1/push', { config: { formatError: lokiErrorFormatter } }, async (request, reply) => {
    const type = mediaType(request.headers['content-type']);
    // Like Loki: no Content-Type means protobuf.
    if (type !== '' && type !== 'application/x-protobuf' && type !== 'application/json') {
      throw new MeshlogError('ML_CONTENT_TYPE', `"${type}" (use application/x-protobuf or application/json)`);
    }
    const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    ctx.metrics.bytesReceived.inc({ receiver }, raw.length);
    const body = await decodeContentEncoding(raw, request.headers['content-encoding'], ctx.maxDecompressedBytes);
    const decoded =
      type === 'application/json'
        ? decodeLokiPushJson(body, request.tenant, receiver)
        : await decodeLokiPushProtobuf(body, ctx.maxDecompressedBytes, request.tenant, receiver);
    const invalid = decoded.rejections.length;
    const { accepted, refused } = ctx.admit(decoded.records, receiver);
    decoded.records = accepted;
    // Loki's wording: entry for stream '{…}' has timestamp too old: …, oldest acceptable timestamp is: …
    for (const { record, reason } of refused) decoded.rejections.push(`entry for stream '${streamText(record.resource)}' has ${reason}`);
    ctx.metrics.recordsReceived.inc({ receiver }, decoded.records.length);
    if (decoded.records.length > 0) await ctx.submit(decoded.records, receiver);
    if (decoded.rejections.length > 0) {
      if (invalid > 0) ctx.metrics.recordsRejected.inc({ receiver, reason: 'invalid' }, invalid);
      // The valid entries are committed; 400 tells the client not to resend the batch.
      const shown = decoded.rejections.slice(0, 10).join('\n');
      const more = decoded.rejections.length > 10 ? `\n… and ${decoded.rejections.length - 10} more` : '';
      throw new MeshlogError(
        'ML_DECODE',
        `${decoded.rejections.length} entries or streams refused, ${decoded.records.length} accepted:\n${shown}${more}`,
      );
    }
    return reply.code(204).send();
  });
}
