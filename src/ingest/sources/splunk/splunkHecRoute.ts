import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { LogRecord } from '../../../model/logRecord.js';
import { decodeHecEvents, decodeHecRaw, type DecodedHec, type HecMetadata } from './splunkHec.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import { logSignal } from '../../distributor.js';
import { httpIngestRoute, type HttpIngestProtocol } from '../../httpIngestRoute.js';
import type { IngestContext } from '../../ingestContext.js';

const receiver = 'splunk_hec';

/** HEC's answers: `{"text","code"}` with its own codes and statuses (Splunk docs, "Troubleshoot HTTP Event Collector"). */
const hecErrorFormatter: ErrorFormatter = (error) => {
  const answer = (status: number, text: string, code: number) => ({
    contentType: 'application/json',
    status,
    body: JSON.stringify({ text, code }),
  });
  if (error.code === 'ML_AUTH_MISSING') return answer(401, 'Token is required', 2);
  if (error.code === 'ML_AUTH_INVALID') return answer(403, 'Invalid token', 4);
  // A real token that may not send here (no ingest role, another tenant): Splunk's answer for a token it will not take.
  if (error.code === 'ML_FORBIDDEN') return answer(403, `Token disabled: ${error.message}`, 1);
  if (error.retryable) return answer(503, 'Server is busy', 9);
  // Splunk's code 8: not retryable (an ML_INTERNAL's error id is in the text).
  if (error.status >= 500) return answer(500, `Internal server error: ${error.message}`, 8);
  return answer(error.status, error.message, 6);
};

const options: RouteShorthandOptions = { config: { formatError: hecErrorFormatter } };
const success = JSON.stringify({ text: 'Success', code: 0 });

/**
 * Indexer acknowledgement: a request that names a channel gets an `ackId`,
 * issued only after its events are committed, so every issued id is already
 * acknowledged. Kept per channel, for the most recent channels only.
 */
class HecAcks {
  private readonly nextIdByChannel = new Map<string, number>();
  private static readonly maxChannels = 10_000;

  issue(channel: string): number {
    const id = this.nextIdByChannel.get(channel) ?? 0;
    this.nextIdByChannel.delete(channel);
    this.nextIdByChannel.set(channel, id + 1);
    if (this.nextIdByChannel.size > HecAcks.maxChannels) this.nextIdByChannel.delete(this.nextIdByChannel.keys().next().value as string);
    return id;
  }

  status(channel: string, ids: unknown[]): Record<string, boolean> {
    const next = this.nextIdByChannel.get(channel) ?? 0;
    return Object.fromEntries(ids.map((id) => [String(id), Number.isInteger(id) && (id as number) >= 0 && (id as number) < next]));
  }
}

function requestChannel(request: FastifyRequest): string | undefined {
  const header = request.headers['x-splunk-request-channel'];
  const channel = typeof header === 'string' ? header : (request.query as { channel?: string }).channel;
  return channel === '' ? undefined : channel;
}

function queryMetadata(request: FastifyRequest): HecMetadata {
  const query = request.query as Record<string, string | undefined>;
  return { host: query.host, source: query.source, sourcetype: query.sourcetype, index: query.index };
}

type DecodedHecRequest = DecodedHec & { invalid: number; noData: boolean };

/**
 * Splunk HTTP Event Collector ingest, answered once committed: JSON events
 * (`raw` false) or raw lines; a request naming a channel gets an `ackId`.
 */
function hecProtocol(acks: HecAcks, raw: boolean, urls: string[]): HttpIngestProtocol<LogRecord, DecodedHecRequest> {
  return {
    receiver,
    signal: logSignal,
    paths: urls.map((url) => ({ url, options })),
    formatError: hecErrorFormatter,
    decode: (body, request) => {
      if (body.toString('utf8').trim() === '') return { records: [], rejection: undefined, invalid: 0, noData: true };
      const decoded = raw
        ? { records: decodeHecRaw(body, queryMetadata(request), request.tenant, receiver), rejection: undefined }
        : decodeHecEvents(body, queryMetadata(request), request.tenant, receiver);
      return { ...decoded, invalid: decoded.rejection ? 1 : 0, noData: false };
    },
    reply: (decoded, { refused }, request, reply) => {
      if (decoded.noData)
        return reply
          .code(400)
          .type('application/json')
          .send(JSON.stringify({ text: 'No data', code: 5 }));
      let { rejection } = decoded;
      if (refused.length > 0) {
        // HEC names the first refused event; the others are committed.
        const first = refused[0];
        const eventNumber = decoded.eventNumbers?.[first.index] ?? first.index;
        if (!rejection || eventNumber < rejection.eventNumber)
          rejection = { code: 6, text: `Invalid data format: ${first.reason}`, eventNumber };
      }
      if (rejection) {
        // The valid events are committed; HEC clients do not resend on 400.
        return reply
          .code(400)
          .type('application/json')
          .send(JSON.stringify({ text: rejection.text, code: rejection.code, 'invalid-event-number': rejection.eventNumber }));
      }
      const channel = requestChannel(request);
      if (channel === undefined) return reply.type('application/json').send(success);
      return reply.type('application/json').send(JSON.stringify({ text: 'Success', code: 0, ackId: acks.issue(channel) }));
    },
  };
}

/** Splunk HTTP Event Collector: JSON events, raw lines, acknowledgements and the health probe. */
export function splunkHecRoutes(app: FastifyInstance, ctx: IngestContext): void {
  const acks = new HecAcks();
  httpIngestRoute(
    app,
    ctx,
    hecProtocol(acks, false, ['/services/collector', '/services/collector/event', '/services/collector/event/1.0']),
  );
  httpIngestRoute(app, ctx, hecProtocol(acks, true, ['/services/collector/raw', '/services/collector/raw/1.0']));
  app.post(
    '/services/collector/ack',
    { config: { ...options.config, permission: 'ingest', tenancy: 'request' } },
    async (request, reply) => {
      const channel = requestChannel(request);
      if (channel === undefined)
        return reply
          .code(400)
          .type('application/json')
          .send(JSON.stringify({ text: 'Data channel is missing', code: 10 }));
      let query: { acks?: unknown };
      try {
        query = JSON.parse(((request.body as Buffer | undefined) ?? Buffer.alloc(0)).toString('utf8')) as { acks?: unknown };
      } catch {
        query = {};
      }
      if (!Array.isArray(query?.acks))
        return reply
          .code(400)
          .type('application/json')
          .send(JSON.stringify({ text: 'Invalid data format', code: 6 }));
      return reply.type('application/json').send(JSON.stringify({ acks: acks.status(channel, query.acks) }));
    },
  );
  for (const url of hecHealthPaths) {
    app.get(url, { config: { ...options.config, permission: 'public' } }, async (_request, reply) =>
      reply.type('application/json').send(JSON.stringify({ text: 'HEC is healthy', code: 17 })),
    );
  }
}

/** HEC's health probe needs no token, as in Splunk. */
export const hecHealthPaths = ['/services/collector/health', '/services/collector/health/1.0'];
