import { MeshlogError } from '../errors.js';
import { parseDuration } from './logql/lexer.js';

/**
 * Loki's time parameters: integers of up to 10 digits are seconds, longer
 * ones nanoseconds, decimals are seconds, otherwise RFC3339(Nano).
 */
export function parseLokiTime(value: string | undefined, fallback: bigint, name: string): bigint {
  if (value === undefined || value === '') return fallback;
  if (/^-?\d+$/.test(value)) return value.replace('-', '').length <= 10 ? BigInt(value) * 1_000_000_000n : BigInt(value);
  if (/^-?\d+\.\d+$/.test(value)) {
    const [seconds, fraction] = value.split('.');
    return BigInt(seconds) * 1_000_000_000n + BigInt(fraction.slice(0, 9).padEnd(9, '0'));
  }
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (match) {
    const ms = Date.parse(`${match[1]}${match[3]}`);
    if (!Number.isNaN(ms)) return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
  }
  throw new MeshlogError('ML_QUERY_INVALID', `cannot parse "${value}" to a valid timestamp (${name})`);
}

/** A duration parameter: Go duration (`5m`) or float seconds. Returns nanoseconds. */
export function parseLokiDuration(value: string, name: string): bigint {
  if (/^\d+(?:\.\d+)?$/.test(value)) return BigInt(Math.round(Number(value) * 1e9));
  const ms = parseDuration(value);
  if (ms === undefined) throw new MeshlogError('ML_QUERY_INVALID', `cannot parse "${value}" to a valid duration (${name})`);
  return BigInt(Math.round(ms * 1e6));
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export interface TimeRange {
  startNs: bigint;
  endNs: bigint;
}

/** start/end/since as Loki reads them: end defaults to now, start to end − since (default 1h). */
export function parseRange(query: Record<string, string | undefined>): TimeRange {
  const endNs = parseLokiTime(query.end, nowNs(), 'end');
  const since = query.since ? parseLokiDuration(query.since, 'since') : 3_600_000_000_000n;
  const startNs = parseLokiTime(query.start, endNs - since, 'start');
  if (endNs < startNs) throw new MeshlogError('ML_QUERY_INVALID', 'the end timestamp must not be before the start time');
  return { startNs, endNs };
}

export function parseLimit(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit <= 0)
    throw new MeshlogError('ML_QUERY_INVALID', `limit must be a positive integer, got "${value}"`);
  if (limit > max)
    throw new MeshlogError('ML_QUERY_LIMIT', `max entries limit per query exceeded, limit > max_entries_limit (${limit} > ${max})`);
  return limit;
}
