import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import { decodeDatadogLogs, type DecodedDatadogLogs } from './datadogLogs.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import { logSignal } from '../../distributor.js';
import type { HttpIngestProtocol } from '../../httpIngestRoute.js';

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

// v1: the same logs, the key in the path (or DD-API-KEY), `service`, `hostname` and `ddsource` as query
// parameters: Datadog's reserved tags service:, host:, source:, so they are passed on as tags; 200, not 202.
const v1: RouteShorthandOptions = {
  config: { credentialParam: 'apiKey' },
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

/**
 * Datadog logs intake: `POST /api/v2/logs`, 202 once committed; and the v1
 * intake `POST /v1/input/<api key>` (datadog-winston, older libraries), 200.
 */
export const datadogLogs: HttpIngestProtocol<LogRecord, DecodedDatadogLogs & { invalid: number }> = {
  receiver,
  signal: logSignal,
  paths: [{ url: '/api/v2/logs' }, { url: '/v1/input', options: v1 }, { url: '/v1/input/:apiKey', options: v1 }],
  formatError: datadogErrorFormatter,
  decode: (body, request, { mediaType }) => {
    const requestTags = (request.query as { ddtags?: string }).ddtags ?? '';
    const decoded = decodeDatadogLogs(body, mediaType === 'text/plain', requestTags, request.tenant, receiver);
    return { ...decoded, invalid: decoded.rejections.length };
  },
  reply: (decoded, { accepted, refused }, _request, reply) => {
    const rejections = [...decoded.rejections, ...refused.map(({ record, reason }) => `log "${record.body.slice(0, 60)}": ${reason}`)];
    if (rejections.length > 0) {
      // The valid logs are committed; 400 tells the Agent not to resend the payload.
      throw new MeshlogError(
        'ML_DECODE',
        `${rejections.length} logs refused, ${accepted.length} accepted: ${rejections.slice(0, 10).join('; ')}`,
      );
    }
    return reply.code(202).type('application/json').send('{}');
  },
};
