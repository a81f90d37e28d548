import type { FastifyInstance } from 'fastify';
import type { RuleBacktestResponse } from '../api/alerts.js';
import { backtestRule } from './ruleBacktest.js';
import { MeshlogError } from '../errors.js';
import { isMetric } from '../query/logql/evaluateMetric.js';
import { parseLogql } from '../query/logql/parser.js';
import { nowNs, parseLokiDuration, parseLokiTime } from '../query/lokiParams.js';
import { requestQuerier } from '../query/routes/requestQuerier.js';
import type { LokiQueryDeps } from '../query/routes/lokiQueryRoutes.js';

const msOf = (ns: bigint) => Number(ns / 1_000_000n);

/**
 * GET /api/v1/alerts/backtest?expr=&for=&start=&end=&step=: when an alert
 * rule would have fired and resolved over a past range of the request's
 * tenant (one only, as the rule engine evaluates a rule: routeAccess lists
 * no multi-tenant form for it), evaluated under the query deadline (read-only).
 */
export function ruleBacktestRoutes(app: FastifyInstance, deps: Pick<LokiQueryDeps, 'runner' | 'budgets' | 'database' | 'limits'>): void {
  app.get(
    '/api/v1/alerts/backtest',
    { config: { permission: 'query', tenancy: 'request' } },
    async (request, reply): Promise<RuleBacktestResponse> => {
      const query = request.query as Record<string, string | undefined>;
      if (!query.expr) throw new MeshlogError('ML_QUERY_INVALID', 'expr is required: the alert rule expression');
      const expr = parseLogql(query.expr);
      if (!isMetric(expr))
        throw new MeshlogError('ML_QUERY_INVALID', 'an alert rule expression is a metric query (e.g. count_over_time(...) > 5)');
      const forMs = query.for ? msOf(parseLokiDuration(query.for, 'for')) : 0;
      const endMs = msOf(parseLokiTime(query.end, nowNs(), 'end'));
      const startMs = msOf(parseLokiTime(query.start, BigInt(endMs - 3_600_000) * 1_000_000n, 'start'));
      // By default about 1,000 evaluations, at least a minute apart (a rule's usual interval).
      const stepMs = query.step
        ? msOf(parseLokiDuration(query.step, 'step'))
        : Math.max(60_000, Math.ceil((endMs - startMs) / 1000 / 1000) * 1000);
      const ctx = requestQuerier(deps, deps.budgets, request, reply).context();
      const series = await backtestRule(expr, forMs, { startMs, endMs, stepMs }, ctx);
      const iso = (ms: number) => new Date(ms).toISOString();
      return {
        start: iso(startMs),
        end: iso(endMs),
        step_seconds: stepMs / 1000,
        for_seconds: forMs / 1000,
        series: series.map((s) => ({
          labels: s.labels,
          firings: s.firings.map((f) => ({
            fired_at: iso(f.firedAtMs),
            resolved_at: f.resolvedAtMs === undefined ? null : iso(f.resolvedAtMs),
            value: f.value,
          })),
        })),
      };
    },
  );
}
