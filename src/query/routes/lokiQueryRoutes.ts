import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LokiLabelsResponse, LokiQueryResponse } from '../../api/loki.js';
import { MeshlogError } from '../../errors.js';
import { isMetric, isSortedByValue } from '../logql/evaluateMetric.js';
import { stepsOf } from '../logql/metricValue.js';
import type { QueryLimits } from '../logql/queryContext.js';
import { prettyLogql } from '../logql/formatter.js';
import { parseLogql } from '../logql/parser.js';
import { drilldownLimits, type DrilldownLimitsInput } from '../drilldownLimits.js';
import { nowNs, parseLimit, parseLokiDuration, parseLokiTime, parseRange } from '../lokiParams.js';
import type { ErrorFormatter } from '../../http/errorReply.js';
import type { QueryBudgets } from '../logql/queryBudget.js';
import type { SqlRunner } from '../../storage/sql.js';
import { requestQuerier } from './requestQuerier.js';
import { encodingFlags } from './encodingFlags.js';
import {
  entriesReturned,
  metricResult,
  planHeader,
  planHeaderName,
  queryStats,
  streamsResult,
  volumeRangeResult,
  volumeResult,
  withFlags,
} from './lokiMarshal.js';
import {
  defaultStepNs,
  direction,
  lokiParams,
  optionalSelectors,
  required,
  selectorOf,
  seriesSelectors,
  volumeBreakdown,
} from './lokiRequestParams.js';

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

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * Loki's read API (`/loki/api/v1/*`): each route reads its parameters
 * (lokiRequestParams), asks the request's Querier (confined to the request's
 * tenant, or for Loki's multi-tenant reads to its tenants, and masked for its
 * reader) and answers in Loki's JSON (lokiMarshal).
 */
export function lokiQueryRoutes(app: FastifyInstance, deps: LokiQueryDeps): void {
  // Reads of the request's tenant; formatting a query and the build information read no tenant's data.
  const options = { config: { permission: 'query', tenancy: 'request', formatError: lokiErrorFormatter } } as const;
  const noTenant = { config: { ...options.config, tenancy: 'none' } } as const;
  // The reads that answer for several tenants (X-Scope-OrgID `a|b`, results labelled `__tenant_id__`): queries,
  // labels and series; stats, volume and detected fields act on one tenant and refuse `a|b`.
  const severalTenants = { config: { ...options.config, multiTenant: true } } as const;
  const querier = (request: FastifyRequest, reply: FastifyReply) => requestQuerier(deps, deps.budgets, request, reply);
  // Loki answers these for POST too, the parameters in a form body (lokiParams reads both).
  const getAndPost = (url: string, routeOptions: typeof options | typeof noTenant | typeof severalTenants, handler: Handler) => {
    app.get(url, routeOptions, handler);
    app.post(url, routeOptions, handler);
  };

  getAndPost('/loki/api/v1/query_range', severalTenants, async (request, reply) => {
    const started = performance.now();
    const params = lokiParams(request);
    const expr = parseLogql(required(params, 'query'));
    const range = parseRange(params);
    const flags = encodingFlags(request);
    if (!isMetric(expr)) {
      const select = {
        direction: direction(params),
        limit: parseLimit(params.limit, 100, deps.maxEntriesLimit),
        categorize: flags.includes('categorize-labels'),
        intervalNs: params.interval ? parseLokiDuration(params.interval, 'interval') : undefined,
      };
      // Like Loki, log queries read [start, end).
      const { value: streams, run } = await querier(request, reply).select(expr, range, select);
      reply.header(planHeaderName, planHeader(run));
      const data = {
        resultType: 'streams' as const,
        result: streamsResult(streams),
        stats: queryStats(run, started, entriesReturned(streams)),
      };
      return { status: 'success', data: withFlags(data, flags) } satisfies LokiQueryResponse;
    }
    const step = params.step ?? params.interval;
    const stepNs = step ? parseLokiDuration(step, 'step') : defaultStepNs(range.startNs, range.endNs);
    const steps = stepsOf(range.startNs, range.endNs, stepNs, deps.limits);
    const { value, run } = await querier(request, reply).evaluate(expr, steps);
    reply.header(planHeaderName, planHeader(run));
    const data = { ...metricResult(value, range.startNs, stepNs, false, false), stats: queryStats(run, started, 0) };
    return { status: 'success', data: withFlags(data, flags) } satisfies LokiQueryResponse;
  });

  getAndPost('/loki/api/v1/query', severalTenants, async (request, reply) => {
    const started = performance.now();
    const params = lokiParams(request);
    const expr = parseLogql(required(params, 'query'));
    // Loki 3 refuses these too: a log query has no single instant.
    if (!isMetric(expr))
      throw new MeshlogError(
        'ML_QUERY_INVALID',
        'log queries are not supported as an instant query type, please change your query to a range query type',
      );
    const timeNs = parseLokiTime(params.time, nowNs(), 'time');
    const { value, run } = await querier(request, reply).evaluate(expr, stepsOf(timeNs, timeNs, 1n, deps.limits));
    reply.header(planHeaderName, planHeader(run));
    const data = { ...metricResult(value, timeNs, 1n, true, isSortedByValue(expr)), stats: queryStats(run, started, 0) };
    return { status: 'success', data: withFlags(data, encodingFlags(request)) } satisfies LokiQueryResponse;
  });

  const labelNames: Handler = async (request, reply) => {
    const params = lokiParams(request);
    const selectors = optionalSelectors(params);
    return {
      status: 'success',
      data: await querier(request, reply).labelNames(parseRange(params), selectors),
    } satisfies LokiLabelsResponse;
  };
  getAndPost('/loki/api/v1/labels', severalTenants, labelNames);
  getAndPost('/loki/api/v1/label', severalTenants, labelNames);

  getAndPost('/loki/api/v1/label/:name/values', severalTenants, async (request, reply) => {
    const params = lokiParams(request);
    const { name } = request.params as { name: string };
    const selectors = optionalSelectors(params);
    const limit = parseLimit(params.limit, 1000, 100_000);
    return {
      status: 'success',
      data: await querier(request, reply).labelValues(parseRange(params), name, selectors, limit),
    } satisfies LokiLabelsResponse;
  });

  getAndPost('/loki/api/v1/series', severalTenants, async (request, reply) => {
    const selectors = seriesSelectors(request);
    return { status: 'success', data: await querier(request, reply).series(parseRange(lokiParams(request)), selectors) };
  });

  getAndPost('/loki/api/v1/index/stats', options, async (request, reply) => {
    const params = lokiParams(request);
    const selector = selectorOf(required(params, 'query'));
    return querier(request, reply).stats(parseRange(params), selector);
  });

  getAndPost('/loki/api/v1/index/volume', options, async (request, reply) => {
    const params = lokiParams(request);
    const selector = selectorOf(required(params, 'query'));
    const range = parseRange(params);
    const limit = parseLimit(params.limit, 100, 10_000);
    const volumes = await querier(request, reply).volume(range, selector, volumeBreakdown(params, selector), limit);
    return { status: 'success', data: volumeResult(volumes, range.endNs) };
  });

  getAndPost('/loki/api/v1/index/volume_range', options, async (request, reply) => {
    const params = lokiParams(request);
    const selector = selectorOf(required(params, 'query'));
    const range = parseRange(params);
    const stepNs = params.step ? parseLokiDuration(params.step, 'step') : defaultStepNs(range.startNs, range.endNs);
    stepsOf(range.startNs, range.endNs, stepNs, deps.limits);
    const limit = parseLimit(params.limit, 100, 10_000);
    const volumes = await querier(request, reply).volumeRange(range, selector, stepNs, volumeBreakdown(params, selector), limit);
    return { status: 'success', data: volumeRangeResult(volumes, range.startNs, stepNs) };
  });

  // Loki answers the query reformatted (syntax.Prettify).
  getAndPost('/loki/api/v1/format_query', noTenant, async (request) => ({
    status: 'success',
    data: prettyLogql(parseLogql(required(lokiParams(request), 'query'))),
  }));

  app.get('/loki/api/v1/detected_fields', options, async (request, reply) => {
    const params = lokiParams(request);
    const expr = parseLogql(required(params, 'query'));
    if (isMetric(expr)) throw new MeshlogError('ML_QUERY_INVALID', 'detected_fields needs a log query');
    const range = parseRange(params);
    const limit = parseLimit(params.limit, 1000, 10_000);
    const lineLimit = parseLimit(params.line_limit, 1000, deps.maxEntriesLimit);
    return { fields: await querier(request, reply).detectedFields(expr, range, lineLimit, limit), limit };
  });

  // Loki's answer omits empty fields (protobuf omitempty): no values gives `{}`.
  getAndPost('/loki/api/v1/detected_field/:name/values', options, async (request, reply) => {
    const params = lokiParams(request);
    const { name } = request.params as { name: string };
    const expr = parseLogql(required(params, 'query'));
    if (isMetric(expr)) throw new MeshlogError('ML_QUERY_INVALID', 'detected_field values needs a log query');
    const limit = parseLimit(params.limit ?? params.field_limit, 1000, 10_000);
    const lineLimit = parseLimit(params.line_limit, 1000, deps.maxEntriesLimit);
    const values = await querier(request, reply).detectedFieldValues(expr, parseRange(params), lineLimit, name, limit);
    return values.length > 0 ? { values, limit } : {};
  });

  app.get('/loki/api/v1/drilldown-limits', options, async () => drilldownLimits(deps.drilldown));

  app.get('/loki/api/v1/detected_labels', options, async (request, reply) => {
    const params = lokiParams(request);
    const selectors = optionalSelectors(params);
    return { detectedLabels: await querier(request, reply).detectedLabels(parseRange(params), selectors) };
  });

  app.get('/loki/api/v1/status/buildinfo', noTenant, async () => ({
    version: deps.lokiApiVersion,
    revision: `meshlog-${deps.meshlogVersion}`,
    branch: '',
    buildDate: '',
    buildUser: '',
    goVersion: '',
  }));
}
