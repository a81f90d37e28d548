import { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import { decodeLokiPushJson, decodeLokiPushProtobuf, type DecodedPush } from './lokiPush.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import { logSignal } from '../../distributor.js';
import type { HttpIngestProtocol } from '../../httpIngestRoute.js';

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
export const lokiPush: HttpIngestProtocol<LogRecord, DecodedPush & { invalid: number }> = {
  receiver,
  signal: logSignal,
  paths: [{ url: '/loki/api/v1/push' }],
  // Like Loki: no Content-Type means protobuf.
  contentTypes: { accepted: ['', 'application/x-protobuf', 'application/json'], hint: '(use application/x-protobuf or application/json)' },
  formatError: lokiErrorFormatter,
  decode: async (body, request, { mediaType, maxDecompressedBytes }) => {
    const decoded =
      mediaType === 'application/json'
        ? decodeLokiPushJson(body, request.tenant, receiver)
        : await decodeLokiPushProtobuf(body, maxDecompressedBytes, request.tenant, receiver);
    return { ...decoded, invalid: decoded.rejections.length };
  },
  reply: (decoded, { accepted, refused }, _request, reply) => {
    // Loki's wording: entry for stream '{…}' has timestamp too old: …, oldest acceptable timestamp is: …
    const rejections = [
      ...decoded.rejections,
      ...refused.map(({ record, reason }) => `entry for stream '${streamText(record.resource)}' has ${reason}`),
    ];
    if (rejections.length > 0) {
      // The valid entries are committed; 400 tells the client not to resend the batch.
      const shown = rejections.slice(0, 10).join('\n');
      const more = rejections.length > 10 ? `\n… and ${rejections.length - 10} more` : '';
      throw new MeshlogError('ML_DECODE', `${rejections.length} entries or streams refused, ${accepted.length} accepted:\n${shown}${more}`);
    }
    return reply.code(204).send();
  },
};
