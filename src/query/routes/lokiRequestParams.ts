import type { FastifyRequest } from 'fastify';
import { MeshlogError } from '../../errors.js';
import type { LabelMatcher } from '../logql/ast.js';
import { parseLogql } from '../logql/parser.js';
import type { VolumeBreakdown } from '../querier.js';

/** The parameters of a Loki read request, by name. */
export type LokiParams = Record<string, string | undefined>;

function formBody(request: FastifyRequest): URLSearchParams | undefined {
  if (!Buffer.isBuffer(request.body) || !String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
    return undefined;
  return new URLSearchParams(request.body.toString('utf8'));
}

/** URL parameters, and for POST a form-encoded body, whose values win as in Go's FormValue. */
export function lokiParams(request: FastifyRequest): LokiParams {
  const raw = request.query as Record<string, string | string[] | undefined>;
  const params: LokiParams = Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, Array.isArray(value) ? value[0] : value]));
  for (const [key, value] of formBody(request) ?? []) params[key] = value;
  return params;
}

export function required(params: LokiParams, name: string): string {
  const value = params[name];
  if (value === undefined || value === '') throw new MeshlogError('ML_QUERY_INVALID', `missing required parameter "${name}"`);
  return value;
}

export function selectorOf(text: string): LabelMatcher[] {
  const expr = parseLogql(text);
  if (expr.kind !== 'log' || expr.stages.length > 0) throw new MeshlogError('ML_QUERY_INVALID', `"${text}" is not a stream selector`);
  return expr.selector;
}

/** The optional `query` selector of labels, label values and detected labels: none matches every stream. */
export function optionalSelectors(params: LokiParams): LabelMatcher[][] {
  return params.query ? [selectorOf(params.query)] : [];
}

/** `/series`' selectors: every `match[]` (and `match`) of the URL and, for POST, of the form body, as many as a URL could not hold. */
export function seriesSelectors(request: FastifyRequest): LabelMatcher[][] {
  const raw = request.query as Record<string, string | string[] | undefined>;
  const matches = [raw['match[]'], raw.match].flat().filter((value): value is string => typeof value === 'string' && value !== '');
  const form = formBody(request);
  if (form) matches.push(...[...form.getAll('match[]'), ...form.getAll('match')].filter((value) => value !== ''));
  return matches.map(selectorOf);
}

export function direction(params: LokiParams): 'forward' | 'backward' {
  const value = (params.direction ?? 'backward').toLowerCase();
  if (value !== 'forward' && value !== 'backward')
    throw new MeshlogError('ML_QUERY_INVALID', `direction must be forward or backward, got "${params.direction}"`);
  return value;
}

/** Loki's default step: the range split into about 250 points, at least one second. */
export function defaultStepNs(startNs: bigint, endNs: bigint): bigint {
  const secondsSpan = Number((endNs - startNs) / 1_000_000_000n);
  return BigInt(Math.max(Math.floor(secondsSpan / 250), 1)) * 1_000_000_000n;
}

/** Which labels a volume is broken down by: targetLabels, else the selector's own labels (Loki's default). */
export function volumeBreakdown(params: LokiParams, selector: LabelMatcher[]): VolumeBreakdown {
  if (params.aggregateBy !== undefined && params.aggregateBy !== 'series' && params.aggregateBy !== 'labels') {
    throw new MeshlogError('ML_QUERY_INVALID', `aggregateBy must be series or labels, got "${params.aggregateBy}"`);
  }
  const target = params.targetLabels
    ? params.targetLabels
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean)
    : undefined;
  return { labels: target ?? [...new Set(selector.map((matcher) => matcher.name))], perLabel: params.aggregateBy === 'labels' };
}
