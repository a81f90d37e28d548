import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MeshlogError } from '../../errors.js';
import type { LabelMatcher } from '../../query/logql/ast.js';
import {
  compileLabelNames,
  compileLabelValues,
  compileStreams,
  tenantLabel,
  compileStreamVolumes,
  type QueryScope,
  type StreamRow,
  type StreamVolumeRow,
} from '../../query/logql/compiler.js';
import { labelNameOf } from '../../query/logql/labelName.js';
import {
  evaluateMetric,
  isMetric,
  isSortedByValue,
  selectStreams,
  stepsOf,
  type MetricValue,
  type QueryContext,
  type QueryLimits,
  type Stream,
} from '../../query/logql/engine.js';
import type { SqlRunner } from '../../storage/sql.js';
import { compareLabels, labelsKey, sortedObject, streamLabels } from '../../query/logql/labelSet.js';
import { prettyLogql } from '../../query/logql/formatter.js';
import { parseLogql } from '../../query/logql/parser.js';
import { detectedFieldValues, detectFields } from '../../query/detectedFields.js';
import { drilldownLimits, type DrilldownLimitsInput } from '../../query/drilldownLimits.js';
import { nowNs, parseLimit, parseLokiDuration, parseLokiTime, parseRange } from '../../query/lokiParams.js';
import type { ErrorFormatter } from '../../http/errorReply.js';
import type { QueryBudget, QueryBudgets } from '../../query/logql/queryBudget.js';
import { requestBudget } from '../requestBudget.js';
import { encodingFlags } from './encodingFlags.js';

export interface LokiQueryDeps {
  runner: SqlRunner;
  /** query.timeout and cancellation of every query. */
  budgets: QueryBudgets;
  database: string;
  limits: QueryLimits;
  /** Largest `limit` a log query may ask for (Loki's max_entries_limit_per_query). */
  maxEntriesLimit: number;
  /** The Loki API version answered in buildinfo (Grafana enables features by it). */
  lokiApiVersion: string;
  meshlogVersion: string;
  /** What /drilldown-limits publishes. */
  drilldown: DrilldownLimitsInput;
}

/** Loki answers query errors as plain text with the HTTP status. */
const lokiErrorFormatter: ErrorFormatter = (error) => ({ contentType: 'text/plain; charset=utf-8', body: error.message });

type Query = Record<string, string | undefined>;

const planHeaderName = 'X-Meshlog-Query-Plan';

/** data with encodingFlags after resultType, where Loki's encoder writes it, when the request set any. */
function withFlags(data: { resultType: string } & Record<string, unknown>, flags: string[]): object {
  if (flags.length === 0) return data;
  const { resultType, ...rest } = data;
  return { resultType, encodingFlags: flags, ...rest };
}

/** URL parameters, and for POST a form-encoded body, whose values win as in Go's FormValue. */
function queryParams(request: FastifyRequest): Query {
  const raw = request.query as Record<string, string | string[] | undefined>;
  const params: Query = Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, Array.isArray(value) ? value[0] : value]));
  if (Buffer.isBuffer(request.body) && String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(request.body.toString('utf8'))) params[key] = value;
  }
  return params;
}

function required(query: Query, name: string): string {
  const value = query[name];
  if (value === undefined || value === '') throw new MeshlogError('ML_QUERY_INVALID', `missing required parameter "${name}"`);
  return value;
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64) spelling of sample values. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function seconds(ns: bigint): number {
  return Number(ns / 1_000_000n) / 1000;
}

function selectorOf(text: string): LabelMatcher[] {
  const expr = parseLogql(text);
  if (expr.kind !== 'log' || expr.stages.length > 0) throw new MeshlogError('ML_QUERY_INVALID', `"${text}" is not a stream selector`);
  return expr.selector;
}

/** Loki's ingester and store statistics: meshlog has neither ingesters nor chunks, so all zero, in Loki's shape. */
const noIngester = {
  compressedBytes: 0,
  decompressedBytes: 0,
  decompressedLines: 0,
  headChunkBytes: 0,
  headChunkLines: 0,
  totalBatches: 0,
  totalChunksMatched: 0,
  totalDuplicates: 0,
  totalLinesSent: 0,
  totalReached: 0,
};
const noStore = {
  compressedBytes: 0,
  decompressedBytes: 0,
  decompressedLines: 0,
  chunksDownloadTime: 0,
  totalChunksRef: 0,
  totalChunksDownloaded: 0,
  totalDuplicates: 0,
};

function stats(ctx: QueryContext, started: number, returned: number): object {
  const execTime = (performance.now() - started) / 1000;
  const perSecond = (n: number) => (execTime > 0 ? Math.round(n / execTime) : 0);
  return {
    ingester: noIngester,
    store: noStore,
    summary: {
      bytesProcessedPerSecond: perSecond(ctx.bytesRead),
      execTime,
      linesProcessedPerSecond: perSecond(ctx.rowsRead),
      queueTime: 0,
      totalBytesProcessed: ctx.bytesRead,
      totalLinesProcessed: ctx.rowsRead,
      totalEntriesReturned: returned,
      subqueries: 0,
      splits: 0,
      shards: 0,
    },
  };
}

/** How the query ran, as a response header: Loki's body has no place for it that every client tolerates. */
function planHeader(ctx: QueryContext): string {
  return JSON.stringify(ctx.plan).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function streamsResult(streams: Stream[]): object[] {
  return streams.map((stream) => ({ stream: stream.labels, values: stream.entries }));
}

/** Instant vectors in label order unless sort()/sort_desc() ordered them; matrices always in label order (as Loki). */
function metricResult(
  value: MetricValue,
  startNs: bigint,
  stepNs: bigint,
  instant: boolean,
  sortedByValue: boolean,
): { resultType: string; result: unknown } {
  const time = (k: number) => seconds(startNs + stepNs * BigInt(k));
  if (value.kind === 'scalar') return { resultType: 'scalar', result: [time(0), formatValue(value.values[0])] };
  if (instant) {
    const present = value.series.filter((s) => !Number.isNaN(s.values[0]));
    if (!sortedByValue) present.sort((a, b) => compareLabels(a.labels, b.labels));
    return { resultType: 'vector', result: present.map((s) => ({ metric: s.labels, value: [time(0), formatValue(s.values[0])] })) };
  }
  const result = [];
  for (const series of value.series) {
    const points: [number, string][] = [];
    series.values.forEach((v, k) => Number.isNaN(v) || points.push([time(k), formatValue(v)]));
    if (points.length > 0) result.push({ metric: series.labels, values: points });
  }
  result.sort((a, b) => compareLabels(a.metric, b.metric));
  return { resultType: 'matrix', result };
}

/** Loki's default step: the range split into about 250 points, at least one second. */
function defaultStepNs(startNs: bigint, endNs: bigint): bigint {
  const secondsSpan = Number((endNs - startNs) / 1_000_000_000n);
  return BigInt(Math.max(Math.floor(secondsSpan / 250), 1)) * 1_000_000_000n;
}

function direction(query: Query): 'forward' | 'backward' {
  const value = (query.direction ?? 'backward').toLowerCase();
  if (value !== 'forward' && value !== 'backward')
    throw new MeshlogError('ML_QUERY_INVALID', `direction must be forward or backward, got "${query.direction}"`);
  return value;
}

/** A multi-tenant read's tenants (each already checked against the credential), or undefined for one tenant. */
function multiTenants(request: FastifyRequest): string[] | undefined {
  return request.tenants.length > 1 ? request.tenants : undefined;
}

/**
 * Loki's read API (`/loki/api/v1/*`), each request confined to the request's tenant,
 * or for Loki's multi-tenant reads (`X-Scope-OrgID: a|b`) to its tenants, lines labelled `__tenant_id__`.
 */
export function lokiQueryRoutes(app: FastifyInstance, deps: LokiQueryDeps): void {
  const config = { formatError: lokiErrorFormatter };
  const context = (request: FastifyRequest, reply: FastifyReply): QueryContext => ({
    database: deps.database,
    tenant: request.tenant,
    tenants: multiTenants(request),
    runner: deps.runner,
    limits: deps.limits,
    plan: [],
    rowsRead: 0,
    bytesRead: 0,
    masking: request.queryMasking,
    budget: requestBudget(deps.budgets, request, reply),
  });
  /** The request's SQL-only reads, under the same deadline and cancellation. */
  const run = <T>(request: FastifyRequest, reply: FastifyReply, compiled: Parameters<SqlRunner['run']>[0]): Promise<T[]> =>
    deps.runner.run<T>(compiled, requestBudget(deps.budgets, request, reply) satisfies QueryBudget);
  const scopeOf = (request: FastifyRequest, query: Query): QueryScope => ({
    database: deps.database,
    tenant: request.tenant,
    tenants: multiTenants(request),
    ...parseRange(query),
  });

  // Loki answers these for POST too, the parameters in a form body (queryParams reads both).
  const getAndPost = (
    url: string,
    options: { config: typeof config },
    handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ) => {
    app.get(url, options, handler);
    app.post(url, options, handler);
  };
  getAndPost('/loki/api/v1/query_range', { config }, async (request, reply) => {
    const started = performance.now();
    const query = queryParams(request);
    const expr = parseLogql(required(query, 'query'));
    const { startNs, endNs } = parseRange(query);
    const ctx = context(request, reply);
    const flags = encodingFlags(request);
    if (!isMetric(expr)) {
      const dir = direction(query);
      const limit = parseLimit(query.limit, 100, deps.maxEntriesLimit);
      // Like Loki, log queries read [start, end).
      const intervalNs = query.interval ? parseLokiDuration(query.interval, 'interval') : undefined;
      const streams = await selectStreams(
        expr,
        ctx,
        { startNs, endNs },
        { limit, direction: dir, categorize: flags.includes('categorize-labels'), intervalNs },
      );
      const returned = streams.reduce((n, s) => n + s.entries.length, 0);
      reply.header(planHeaderName, planHeader(ctx));
      return {
        status: 'success',
        data: withFlags({ resultType: 'streams', result: streamsResult(streams), stats: stats(ctx, started, returned) }, flags),
      };
    }
    const step = query.step ?? query.interval;
    const stepNs = step ? parseLokiDuration(step, 'step') : defaultStepNs(startNs, endNs);
    const steps = stepsOf(startNs, endNs, stepNs, deps.limits);
    const value = await evaluateMetric(expr, ctx, steps);
    const data = metricResult(value, startNs, stepNs, false, false);
    reply.header(planHeaderName, planHeader(ctx));
    return { status: 'success', data: withFlags({ ...data, stats: stats(ctx, started, 0) }, flags) };
  });

  getAndPost('/loki/api/v1/query', { config }, async (request, reply) => {
    const started = performance.now();
    const query = queryParams(request);
    const expr = parseLogql(required(query, 'query'));
    // Loki 3 refuses these too: a log query has no single instant.
    if (!isMetric(expr))
      throw new MeshlogError(
        'ML_QUERY_INVALID',
        'log queries are not supported as an instant query type, please change your query to a range query type',
      );
    const timeNs = parseLokiTime(query.time, nowNs(), 'time');
    const ctx = context(request, reply);
    const steps = stepsOf(timeNs, timeNs, 1n, deps.limits);
    const value = await evaluateMetric(expr, ctx, steps);
    reply.header(planHeaderName, planHeader(ctx));
    return {
      status: 'success',
      data: withFlags(
        { ...metricResult(value, timeNs, 1n, true, isSortedByValue(expr)), stats: stats(ctx, started, 0) },
        encodingFlags(request),
      ),
    };
  });

  const labelNames = async (request: FastifyRequest, reply: FastifyReply) => {
    const query = queryParams(request);
    const selectors = query.query ? [selectorOf(query.query)] : [];
    const rows = await run<{ name: string }>(request, reply, compileLabelNames(scopeOf(request, query), selectors));
    return { status: 'success', data: [...new Set(rows.map((row) => labelNameOf(row.name)))].sort() };
  };
  getAndPost('/loki/api/v1/labels', { config }, labelNames);
  getAndPost('/loki/api/v1/label', { config }, labelNames);

  getAndPost('/loki/api/v1/label/:name/values', { config }, async (request, reply) => {
    const query = queryParams(request);
    const { name } = request.params as { name: string };
    const selectors = query.query ? [selectorOf(query.query)] : [];
    const limit = parseLimit(query.limit, 1000, 100_000);
    // As Loki's MultiTenantQuerier: the values of the tenant label are the tenants asked for.
    if (name === tenantLabel && request.tenants.length > 1) return { status: 'success', data: request.tenants };
    const rows = await run<{ value: string }>(request, reply, compileLabelValues(scopeOf(request, query), name, selectors, limit));
    return { status: 'success', data: rows.map((row) => row.value) };
  });

  const streamRows = async (request: FastifyRequest, reply: FastifyReply, query: Query, selectors: LabelMatcher[][]) =>
    run<StreamRow>(request, reply, compileStreams(scopeOf(request, query), selectors, deps.limits.maxSeries));

  const listSeries = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.query as Record<string, string | string[] | undefined>;
    const matches = [raw['match[]'], raw.match].flat().filter((value): value is string => typeof value === 'string' && value !== '');
    // POST: selectors in the form body, as many as a URL could not hold.
    if (Buffer.isBuffer(request.body) && String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(request.body.toString('utf8'));
      matches.push(...[...form.getAll('match[]'), ...form.getAll('match')].filter((value) => value !== ''));
    }
    const rows = await streamRows(request, reply, queryParams(request), matches.map(selectorOf));
    const series = new Map<string, Record<string, string>>();
    for (const row of rows) {
      const labels = sortedObject(streamLabels(row));
      series.set(labelsKey(labels), labels);
    }
    return { status: 'success', data: [...series.values()] };
  };
  app.get('/loki/api/v1/series', { config }, listSeries);
  app.post('/loki/api/v1/series', { config }, listSeries);

  const indexStats = async (request: FastifyRequest, reply: FastifyReply) => {
    const query = queryParams(request);
    const rows = await streamRows(request, reply, query, [selectorOf(required(query, 'query'))]);
    const streams = new Set(rows.map((row) => labelsKey(streamLabels(row))));
    return {
      streams: streams.size,
      // No chunks in ClickHouse: a chunk is counted per stream and hour, the period Loki cuts chunks at.
      chunks: rows.reduce((n, row) => n + Number(row.hours), 0),
      entries: rows.reduce((n, row) => n + Number(row.entries), 0),
      bytes: rows.reduce((n, row) => n + Number(row.bytes), 0),
    };
  };
  app.get('/loki/api/v1/index/stats', { config }, indexStats);
  app.post('/loki/api/v1/index/stats', { config }, indexStats);

  /** Which labels a volume is broken down by: targetLabels, else the selector's own labels (Loki's default). */
  const volumeLabels = (query: Query, selector: LabelMatcher[]): string[] => {
    if (query.aggregateBy !== undefined && query.aggregateBy !== 'series' && query.aggregateBy !== 'labels') {
      throw new MeshlogError('ML_QUERY_INVALID', `aggregateBy must be series or labels, got "${query.aggregateBy}"`);
    }
    const target = query.targetLabels
      ? query.targetLabels
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean)
      : undefined;
    return target ?? [...new Set(selector.map((matcher) => matcher.name))];
  };
  /** The series a stream's bytes count towards: its values of the labels, or with aggregateBy=labels one `{name=""}` series per label it has. */
  const volumeMetrics = (
    query: Query,
    row: Pick<StreamRow, 'service_name' | 'level' | 'resource_attributes'>,
    byLabels: string[],
  ): Record<string, string>[] => {
    const labels = streamLabels(row);
    const present = byLabels.filter((name) => labels.has(name === 'level' ? 'detected_level' : name));
    if (query.aggregateBy === 'labels') return present.map((name) => ({ [name]: '' }));
    return [Object.fromEntries(present.sort().map((name) => [name, labels.get(name === 'level' ? 'detected_level' : name)!]))];
  };

  const indexVolume = async (request: FastifyRequest, reply: FastifyReply) => {
    const query = queryParams(request);
    const selector = selectorOf(required(query, 'query'));
    const { endNs } = parseRange(query);
    const limit = parseLimit(query.limit, 100, 10_000);
    const byLabels = volumeLabels(query, selector);
    const rows = await streamRows(request, reply, query, [selector]);
    const volumes = new Map<string, { metric: Record<string, string>; bytes: number }>();
    for (const row of rows) {
      for (const metric of volumeMetrics(query, row, byLabels)) {
        const key = labelsKey(metric);
        const volume = volumes.get(key) ?? { metric, bytes: 0 };
        volume.bytes += Number(row.bytes);
        volumes.set(key, volume);
      }
    }
    const result = [...volumes.values()]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, limit)
      .map((volume) => ({ metric: volume.metric, value: [seconds(endNs), String(volume.bytes)] }));
    return { status: 'success', data: { resultType: 'vector', result } };
  };
  app.get('/loki/api/v1/index/volume', { config }, indexVolume);
  app.post('/loki/api/v1/index/volume', { config }, indexVolume);

  // Bytes per step: the point at start + k·step holds the bytes of [start + k·step, start + (k+1)·step).
  const indexVolumeRange = async (request: FastifyRequest, reply: FastifyReply) => {
    const query = queryParams(request);
    const selector = selectorOf(required(query, 'query'));
    const scope = scopeOf(request, query);
    const stepNs = query.step ? parseLokiDuration(query.step, 'step') : defaultStepNs(scope.startNs, scope.endNs);
    stepsOf(scope.startNs, scope.endNs, stepNs, deps.limits);
    const limit = parseLimit(query.limit, 100, 10_000);
    const byLabels = volumeLabels(query, selector);
    const rows = await run<StreamVolumeRow>(
      request,
      reply,
      compileStreamVolumes(scope, [selector], stepNs, deps.limits.maxSeries * deps.limits.maxPoints),
    );
    const volumes = new Map<string, { metric: Record<string, string>; total: number; points: Map<number, number> }>();
    for (const row of rows) {
      for (const metric of volumeMetrics(query, row, byLabels)) {
        const key = labelsKey(metric);
        const volume = volumes.get(key) ?? { metric, total: 0, points: new Map<number, number>() };
        const bucket = Number(row.bucket);
        volume.points.set(bucket, (volume.points.get(bucket) ?? 0) + Number(row.bytes));
        volume.total += Number(row.bytes);
        volumes.set(key, volume);
      }
    }
    // The limit keeps the largest series, as /index/volume does; the answer is a matrix in label order.
    const result = [...volumes.values()]
      .sort((a, b) => b.total - a.total)
      .slice(0, limit)
      .sort((a, b) => compareLabels(a.metric, b.metric))
      .map((volume) => ({
        metric: volume.metric,
        values: [...volume.points]
          .sort(([a], [b]) => a - b)
          .map(([bucket, bytes]) => [seconds(scope.startNs + stepNs * BigInt(bucket)), String(bytes)]),
      }));
    return { status: 'success', data: { resultType: 'matrix', result } };
  };
  app.get('/loki/api/v1/index/volume_range', { config }, indexVolumeRange);
  app.post('/loki/api/v1/index/volume_range', { config }, indexVolumeRange);

  // Loki answers the query reformatted (syntax.Prettify); GET and POST (form body) alike.
  const formatQuery = async (request: FastifyRequest) => ({
    status: 'success',
    data: prettyLogql(parseLogql(required(queryParams(request), 'query'))),
  });
  app.get('/loki/api/v1/format_query', { config }, formatQuery);
  app.post('/loki/api/v1/format_query', { config }, formatQuery);

  app.get('/loki/api/v1/detected_fields', { config }, async (request, reply) => {
    const query = queryParams(request);
    const expr = parseLogql(required(query, 'query'));
    if (isMetric(expr)) throw new MeshlogError('ML_QUERY_INVALID', 'detected_fields needs a log query');
    const range = parseRange(query);
    const limit = parseLimit(query.limit, 1000, 10_000);
    const lineLimit = parseLimit(query.line_limit, 1000, deps.maxEntriesLimit);
    const ctx = context(request, reply);
    const streams = await selectStreams(expr, ctx, range, { limit: lineLimit, direction: 'backward' });
    const names = await deps.runner.run<{ name: string }>(compileLabelNames(scopeOf(request, query), [expr.selector]), ctx.budget);
    return { fields: detectFields(streams, new Set(names.map((row) => labelNameOf(row.name))), limit), limit };
  });

  // Loki's answer omits empty fields (protobuf omitempty): no values gives `{}`.
  getAndPost('/loki/api/v1/detected_field/:name/values', { config }, async (request, reply) => {
    const query = queryParams(request);
    const { name } = request.params as { name: string };
    const expr = parseLogql(required(query, 'query'));
    if (isMetric(expr)) throw new MeshlogError('ML_QUERY_INVALID', 'detected_field values needs a log query');
    const limit = parseLimit(query.limit ?? query.field_limit, 1000, 10_000);
    const lineLimit = parseLimit(query.line_limit, 1000, deps.maxEntriesLimit);
    const ctx = context(request, reply);
    const streams = await selectStreams(expr, ctx, parseRange(query), { limit: lineLimit, direction: 'backward' });
    const names = await deps.runner.run<{ name: string }>(compileLabelNames(scopeOf(request, query), [expr.selector]), ctx.budget);
    const values = detectedFieldValues(streams, new Set(names.map((row) => labelNameOf(row.name))), name, limit);
    return values.length > 0 ? { values, limit } : {};
  });

  app.get('/loki/api/v1/drilldown-limits', { config }, async () => drilldownLimits(deps.drilldown));

  app.get('/loki/api/v1/detected_labels', { config }, async (request, reply) => {
    const query = queryParams(request);
    const rows = await streamRows(request, reply, query, query.query ? [selectorOf(query.query)] : []);
    const values = new Map<string, Set<string>>();
    for (const row of rows) {
      for (const [name, value] of streamLabels(row)) {
        const seen = values.get(name) ?? new Set<string>();
        seen.add(value);
        values.set(name, seen);
      }
    }
    return { detectedLabels: [...values].sort(([a], [b]) => (a < b ? -1 : 1)).map(([label, seen]) => ({ label, cardinality: seen.size })) };
  });

  app.get('/loki/api/v1/status/buildinfo', { config }, async () => ({
    version: deps.lokiApiVersion,
    revision: `meshlog-${deps.meshlogVersion}`,
    branch: '',
    buildDate: '',
    buildUser: '',
    goVersion: '',
  }));
}
