import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MeshlogError } from '../../../errors.js';
import { decodeDatadogLogs } from './datadogLogs.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import type { IngestContext } from '../../ingestContext.js';
import { decodeContentEncoding, mediaType } from '../shared/requestBody.js';

const receiver = 'datadog';

/** Datadog's intake errors: `{"errors":[{"status","title","detail"}]}`; a wrong key is 403. */
const datadogErrorFormatter: ErrorFormatter = (error) => {
  const status = error.code === 'ML_AUTH_INVALID' ? 403 : error.status;
  const title =
    status === 403
      ? 'Forbidden'
      : status === 401
        ? 'Unauthorized'
        : status === 429
          ? 'Too Many Requests'
          : status === 503
            ? 'Service Unavailable'
            : status >= 500
              ? 'Internal Server Error'
              : 'Bad Request';
  return {
    contentType: 'application/json',
    status,
    body: JSON.stringify({ errors: [{ status: String(status), title, detail: error.message }] }),
  };
};

/**
 * Datadog logs intake: `POST /api/v2/logs`, 202 once committed; and the v1
 * intake `POST /v1/input/<api key>` (datadog-winston, older libraries), 200.
 */
export function datadogLogsRoute(app: FastifyInstance, ctx: IngestContext): void {
  const intake = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    ctx.metrics.bytesReceived.inc({ receiver }, raw.length);
    const body = await decodeContentEncoding(raw, request.headers['content-encoding'], ctx.maxDecompressedBytes);
    const requestTags = (request.query as { ddtags?: string }).ddtags ?? '';
    const plainText = mediaType(request.headers['content-type']) === 'text/plain';
    const decoded = decodeDatadogLogs(body, plainText, requestTags, request.tenant, receiver);
    const invalid = decoded.rejections.length;
    const { accepted, refused } = ctx.admit(decoded.records, receiver);
    decoded.records = accepted;
    for (const { record, reason } of refused) decoded.rejections.push(`log "${record.body.slice(0, 60)}": ${reason}`);
    ctx.metrics.recordsReceived.inc({ receiver }, decoded.records.length);
    if (decoded.records.length > 0) await ctx.submit(decoded.records, receiver);
    if (decoded.rejections.length > 0) {
      if (invalid > 0) ctx.metrics.recordsRejected.inc({ receiver, reason: 'invalid' }, invalid);
      // The valid logs are committed; 400 tells the Agent not to resend the payload.
      throw new MeshlogError(
        'ML_DECODE',
        `${decoded.rejections.length} logs refused, ${decoded.records.length} accepted: ${decoded.rejections.slice(0, 10).join('; ')}`,
      );
    }
    return reply.code(202).type('application/json').send('{}');
  };
  app.post('/api/v2/logs', { config: { formatError: datadogErrorFormatter } }, intake);

  // v1: the same logs, the key in the path (or DD-API-KEY), `service`, `hostname` and `ddsource` as query
  // parameters: Datadog's reserved tags service:, host:, source:, so they are passed on as tags.
  const v1 = {
    config: { formatError: datadogErrorFormatter, credentialParam: 'apiKey' },
    preHandler: async (request: FastifyRequest) => {
      const query = request.query as Record<string, string | undefined>;
      const tags = [
        query.ddtags,
        query.service && `service:${query.service}`,
        query.hostname && `host:${query.hostname}`,
        query.ddsource && `source:${query.ddsource}`,
      ];
      query.ddtags = tags.filter((tag) => tag).join(',');
    },
    onSend: async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      if (reply.statusCode === 202) reply.code(200);
      return payload;
    },
  };
  app.post('/v1/input', v1, intake);
  app.post('/v1/input/:apiKey', v1, intake);
}
