import assert from 'node:assert/strict';
import type { LogQuery, MetricExpr } from '../../src/query/logql/ast.js';
import { evaluateMetric, isMetric } from '../../src/query/logql/evaluateMetric.js';
import { stepsOf } from '../../src/query/logql/metricValue.js';
import { parseLogql } from '../../src/query/logql/parser.js';
import { defaultQueryLimits, type QueryContext } from '../../src/query/logql/queryContext.js';
import { selectStreams } from '../../src/query/logql/selectStreams.js';

/** A query's answer through the real engine: the result as plain JSON (an error as `{ error }`), the rows read and the plan. */
export interface LogqlAnswer {
  result: unknown;
  rowsRead: number;
  plan: string[];
}

/** `query` answered in `ctx` over [startNs, endNs): log lines newest first, at most `limit`; a metric query at endNs, one second a step. */
export async function answerLogql(
  query: string,
  ctx: QueryContext,
  range: { startNs: bigint; endNs: bigint },
  limit: number,
): Promise<LogqlAnswer> {
  const expr = parseLogql(query);
  try {
    const result = isMetric(expr)
      ? await evaluateMetric(expr as MetricExpr, ctx, stepsOf(range.endNs, range.endNs, 1_000_000_000n, defaultQueryLimits))
      : await selectStreams(expr as LogQuery, ctx, range, { limit, direction: 'backward' });
    return {
      result: JSON.parse(JSON.stringify(result, (_, value) => (value instanceof Float64Array ? [...value] : value))),
      rowsRead: ctx.rowsRead,
      plan: ctx.plan,
    };
  } catch (error) {
    return { result: { error: (error as Error).message }, rowsRead: ctx.rowsRead, plan: ctx.plan };
  }
}

/**
 * Each case's query answered with query.pushdown off (the engine alone) and
 * on: the answers (or errors) must be identical, and `check` asserts what else
 * the pair must show. Returns every failure, so one run names each query that
 * differs.
 */
export async function pushdownFailures<Case extends readonly [string, ...unknown[]]>(
  cases: readonly Case[],
  run: (query: string, pushdown: boolean) => Promise<LogqlAnswer>,
  check: (pushed: LogqlAnswer, engine: LogqlAnswer, testCase: Case) => void,
): Promise<string[]> {
  const failures: string[] = [];
  for (const testCase of cases) {
    const [query] = testCase;
    const engine = await run(query, false);
    const pushed = await run(query, true);
    try {
      assert.deepEqual(pushed.result, engine.result, `${query}: results differ`);
      check(pushed, engine, testCase);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  return failures;
}
