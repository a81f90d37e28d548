import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MeshlogError } from '../../errors.js';
import type { QueryLimits } from '../logql/queryContext.js';
import type { EntryCategories, TailFrame } from '../../api/tail.js';
import { categorized } from '../logql/selectStreams.js';
import type { SqlRunner } from '../../storage/sql.js';
import { labelsKey, sortedObject } from '../logql/labelSet.js';
import { parseLogql } from '../logql/parser.js';
import type { QueryBudget, QueryBudgets } from '../logql/queryBudget.js';
import { Querier } from '../querier.js';
import { nowNs, parseLimit, parseLokiTime } from '../lokiParams.js';
import { compileTailFilter, type TailLine } from '../tail/tailFilter.js';
import type { TailHub, TailSubscription } from '../tail/tailHub.js';
import type { ErrorFormatter } from '../../http/errorReply.js';
import { encodingFlags } from './encodingFlags.js';

export interface TailRouteDeps {
  hub: TailHub;
  runner: SqlRunner;
  budgets?: QueryBudgets;
  database: string;
  limits: QueryLimits;
  /** Most lines of history a tail starts with (query.max_lines, as Loki's max_entries_limit_per_query). */
  maxLines: number;
}

const lokiErrorFormatter: ErrorFormatter = (error) => ({ contentType: 'text/plain; charset=utf-8', body: error.message });
const maxDelaySeconds = 5;
const hour = 3_600_000_000_000n;

interface TailRequest {
  subscription: TailSubscription;
  backfill: () => Promise<TailLine[]>;
  delayMs: number;
  mask: ((streams: TailFrame['streams']) => void) | undefined;
  flags: string[];
}

function queryParams(request: FastifyRequest): Record<string, string | undefined> {
  const raw = request.query as Record<string, string | string[] | undefined>;
  return Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, Array.isArray(value) ? value[0] : value]));
}

function frameOf(lines: TailLine[], dropped: number, flags: string[]): TailFrame {
  const categorize = flags.includes('categorize-labels');
  const streams = new Map<string, TailFrame['streams'][number]>();
  for (const line of lines) {
    const split = categorize ? categorized(line) : undefined;
    const labels = split ? split.stream : line.labels;
    const key = labelsKey(labels);
    let stream = streams.get(key);
    if (!stream) streams.set(key, (stream = { stream: sortedObject(labels), values: [] }));
    stream.values.push(split ? [line.timestampNs, line.line, split.categories] : [line.timestampNs, line.line]);
  }
  return {
    streams: [...streams.values()],
    dropped_entries: null,
    ...(dropped > 0 ? { dropped_lines: dropped } : {}),
    ...(flags.length > 0 ? { encodingFlags: flags } : {}),
  };
}

/** A line of history back in the shape live lines have: its categories (when asked for) as its label sets. */
function historyLine(timestampNs: string, line: string, stream: Record<string, string>, categories: EntryCategories | undefined): TailLine {
  const labels = new Map(Object.entries(stream));
  for (const [name, value] of Object.entries(categories?.structuredMetadata ?? {})) labels.set(name, value);
  for (const [name, value] of Object.entries(categories?.parsed ?? {})) labels.set(name, value);
  return {
    timestampNs,
    line,
    labels,
    metadata: new Set(Object.keys(categories?.structuredMetadata ?? {})),
    parsed: new Set(Object.keys(categories?.parsed ?? {})),
  };
}

/**
 * Subscribes before reading history, so nothing committed in between is
 * missed; a line may then arrive twice, as with Loki's own tail.
 */
async function openTail(request: FastifyRequest, deps: TailRouteDeps): Promise<TailRequest> {
  const query = queryParams(request);
  if (!query.query) throw new MeshlogError('ML_QUERY_INVALID', 'missing required parameter "query"');
  // Loki's multi-tenant read (`a|b`): the tenants were each checked against the credential; lines carry `__tenant_id__`.
  const tenants = request.tenants.length > 1 ? request.tenants : undefined;
  const policy = request.readPolicy;
  const filter = compileTailFilter(query.query, policy.queryMasking, tenants !== undefined);
  const delaySeconds = query.delay_for ? Number(query.delay_for) : 0;
  if (!(delaySeconds >= 0 && delaySeconds <= maxDelaySeconds)) {
    throw new MeshlogError('ML_QUERY_INVALID', `delay_for must be between 0 and ${maxDelaySeconds} seconds, got "${query.delay_for}"`);
  }
  const limit = parseLimit(query.limit, 100, deps.maxLines);
  const endNs = nowNs();
  const startNs = parseLokiTime(query.start, endNs - hour, 'start');
  // The policy's live masking covers every frame, history included.
  const mask = await policy.live();
  const flags = encodingFlags(request);
  const subscription = deps.hub.subscribe(request.tenants, filter);
  if (!subscription) throw new MeshlogError('ML_OVERLOADED', 'too many live tails: retry later');
  const backfill = async (): Promise<TailLine[]> => {
    const expr = parseLogql(query.query!);
    if (expr.kind !== 'log') return [];
    const read = (budget?: QueryBudget) =>
      new Querier(deps, { tenant: request.tenant, tenants, policy, budget }).history(
        expr,
        { startNs, endNs },
        { limit, direction: 'backward', categorize: flags.includes('categorize-labels') },
      );
    const streams = deps.budgets ? await deps.budgets.run(read) : await read();
    const lines = streams.flatMap((stream) =>
      stream.entries.map(([timestampNs, line, categories]) => historyLine(timestampNs, line, stream.labels, categories)),
    );
    return lines.sort((a, b) => (BigInt(a.timestampNs) < BigInt(b.timestampNs) ? -1 : 1));
  };
  return { subscription, backfill, delayMs: delaySeconds * 1000, mask, flags };
}

/** Sends history, then every batch the subscription yields, until it or the connection closes. */
async function pump(tail: TailRequest, sendFrame: (frame: TailFrame) => Promise<void>): Promise<void> {
  const send = (frame: TailFrame) => {
    tail.mask?.(frame.streams);
    return sendFrame(frame);
  };
  const history = await tail.backfill();
  if (history.length > 0) await send(frameOf(history, 0, tail.flags));
  for (;;) {
    if (tail.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, tail.delayMs));
    const batch = await tail.subscription.next();
    if (!batch) return;
    await send(frameOf(batch.lines, batch.dropped, tail.flags));
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    tail: TailRequest | undefined;
  }
}

/**
 * Live tail of committed lines: Loki's `/loki/api/v1/tail` WebSocket
 * (Grafana, logcli) and `/api/v1/tail` as Server-Sent Events (UI, CLI).
 * A reader that falls behind loses lines — counted in `dropped_lines` —
 * rather than holding back ingest.
 */
export function tailRoutes(app: FastifyInstance, deps: TailRouteDeps): void {
  app.decorateRequest('tail', undefined);
  // Tails never end on their own: close them so the server can stop.
  app.addHook('preClose', async () => deps.hub.close());
  app.register(websocket);
  app.register(async (scope) => {
    scope.get(
      '/loki/api/v1/tail',
      {
        websocket: true,
        // Loki tails several tenants too (X-Scope-OrgID `a|b`).
        config: { permission: 'query', tenancy: 'request', multiTenant: true, formatError: lokiErrorFormatter },
        // Refused before the upgrade, so the client gets an HTTP status and reason.
        preValidation: async (request) => {
          request.tail = await openTail(request, deps);
        },
      },
      (socket, request) => {
        const tail = request.tail!;
        socket.on('close', () => tail.subscription.close());
        const send = (frame: TailFrame) =>
          new Promise<void>((resolve, reject) => socket.send(JSON.stringify(frame), (error) => (error ? reject(error) : resolve())));
        pump(tail, send)
          .catch((error: unknown) => request.log.debug({ reason: (error as Error).message }, 'live tail ended'))
          .finally(() => {
            tail.subscription.close();
            socket.close(1000);
          });
      },
    );
  });

  app.get('/api/v1/tail', { config: { permission: 'query', tenancy: 'request' } }, async (request, reply) => {
    const tail = await openTail(request, deps);
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    response.flushHeaders();
    request.raw.on('close', () => tail.subscription.close());
    const send = async (frame: TailFrame) => {
      if (response.destroyed) throw new Error('client went away');
      if (!response.write(`data: ${JSON.stringify(frame)}\n\n`)) {
        await new Promise<void>((resolve) => {
          response.once('drain', resolve);
          response.once('close', resolve);
        });
      }
    };
    await pump(tail, send).catch((error: unknown) => request.log.debug({ reason: (error as Error).message }, 'live tail ended'));
    tail.subscription.close();
    response.end();
  });
}
