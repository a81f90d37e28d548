import { retentionRules } from '../retention/disposer.js';
import type { ReportSection, SectionInput } from './reportModel.js';

const dayMs = 86_400_000;
const forecastDays = 30;
/** Past this the exact day count says nothing. */
const longHorizonDays = 3650;
/** Free space under which a disk fails the section (ClickHouse stops merging, then writing). */
const minFreeShare = 0.05;
/** Refusals that mean the limits were reached, not that a client sent garbage. */
const capacityRefusals = ['ML_OVERLOADED', 'ML_BODY_TOO_LARGE', 'ML_UNAVAILABLE'];

/** Least-squares line through (day index, records): records a day grow by `slope` each day. */
export function linearTrend(values: number[]): { slope: number; intercept: number } {
  const n = values.length;
  if (n === 0) return { slope: 0, intercept: 0 };
  if (n === 1) return { slope: 0, intercept: values[0] };
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((sum, value) => sum + value, 0) / n;
  let covariance = 0;
  let variance = 0;
  values.forEach((value, x) => {
    covariance += (x - meanX) * (value - meanY);
    variance += (x - meanX) ** 2;
  });
  const slope = covariance / variance;
  return { slope, intercept: meanY - slope * meanX };
}

/** The days of the period (UTC dates), so that days without records count as zero. */
function periodDays(fromMs: number, toMs: number): string[] {
  const days: string[] = [];
  for (let day = Math.floor(fromMs / dayMs) * dayMs; day <= toMs; day += dayMs) days.push(new Date(day).toISOString().slice(0, 10));
  return days;
}

/**
 * Capacity (A1.1): ingest and storage use against their limits, and a linear
 * forecast of daily ingest (least squares over the days of the period)
 * turned into bytes with the stored bytes per record, to tell how long the
 * disk holding the logs lasts.
 */
export async function capacitySection({ sources, period }: SectionInput): Promise<ReportSection> {
  const config = sources.config;
  const [daily, tables, disks, refusals] = await Promise.all([
    sources.queries.dailyVolume(period),
    sources.queries.tableUse(),
    sources.queries.disks(),
    sources.ingestRefusals(),
  ]);
  const fromMs = Number(period.fromNs / 1_000_000n);
  const toMs = Math.min(Date.now(), Number(period.toNs / 1_000_000n));

  const perDay = new Map(periodDays(fromMs, toMs).map((day) => [day, 0]));
  for (const row of daily) perDay.set(row.day, (perDay.get(row.day) ?? 0) + Number(row.records));
  // The line is fitted to whole days: a period starting or ending mid-day would bend it.
  const whole = [...perDay]
    .filter(([day]) => Date.parse(day) >= fromMs && Date.parse(day) + dayMs - 1 <= toMs)
    .map(([, records]) => records);
  const days = whole.length >= 2 ? whole : [...perDay.values()];
  const trend = linearTrend(days);
  const forecastDaily = Math.max(0, trend.intercept + trend.slope * (days.length - 1 + forecastDays));

  const logs = tables.filter((row) => row.table === 'logs');
  const logRows = logs.reduce((sum, row) => sum + Number(row.rows), 0);
  const logBytes = logs.reduce((sum, row) => sum + Number(row.bytes_on_disk), 0);
  const bytesPerRecord = logRows > 0 ? logBytes / logRows : 0;
  const storedBytes = tables.reduce((sum, row) => sum + Number(row.bytes_on_disk), 0);
  const usedDisks = new Set(tables.map((row) => row.disk));
  const diskUse = disks
    .filter((disk) => usedDisks.has(disk.name))
    .map((disk) => {
      const usable = Number(disk.free_space) - Number(disk.keep_free_space);
      const growth = forecastDaily * bytesPerRecord;
      return {
        disk: disk.name,
        total_bytes: Number(disk.total_space),
        free_bytes: Number(disk.free_space),
        free_share: Number(disk.total_space) > 0 ? Number((Number(disk.free_space) / Number(disk.total_space)).toFixed(4)) : 0,
        meshlog_bytes: tables.filter((row) => row.disk === disk.name).reduce((sum, row) => sum + Number(row.bytes_on_disk), 0),
        forecast_growth_bytes_per_day: Math.round(growth),
        days_until_full: growth > 0 ? Math.floor(usable / growth) : null,
      };
    });

  const { rules, fallback } = retentionRules(config.retention);
  const longestRetentionDays = Math.max(fallback.maxAgeSeconds, ...rules.map((rule) => rule.maxAgeSeconds)) / 86_400;
  const capacityRefused = Object.entries(refusals.requests).filter(([code]) => capacityRefusals.includes(code));
  const data = {
    limits: {
      max_queued_records: config.ingest.max_queued_records,
      batch_max_records: config.ingest.batch_max_records,
      max_body_bytes: config.ingest.max_body_bytes,
      max_decompressed_bytes: config.ingest.max_decompressed_bytes,
      longest_retention_days: longestRetentionDays,
    },
    ingest: {
      records_per_day: [...perDay].map(([day, records]) => ({ day, records })),
      days_fitted: days.length,
      trend_change_per_day: Number(trend.slope.toFixed(2)),
      forecast_records_per_day: Math.round(forecastDaily),
      forecast_for: `${forecastDays} days after the last day fitted`,
      refused_since_start: refusals,
    },
    storage: {
      tables: tables.map((row) => ({
        ...row,
        rows: Number(row.rows),
        bytes_on_disk: Number(row.bytes_on_disk),
        uncompressed_bytes: Number(row.uncompressed_bytes),
      })),
      stored_bytes: storedBytes,
      bytes_per_log_record: Math.round(bytesPerRecord),
      disks: diskUse,
      steady_state_log_bytes: Math.round(forecastDaily * bytesPerRecord * longestRetentionDays),
    },
    forecast_method:
      'least-squares line through the records of each whole day of the period (every day when fewer than two are whole), extended 30 days; bytes = records × stored bytes per log record; days until full = (free − keep_free) / forecast bytes per day, ignoring disposal',
    note: 'refusals are counted by the running server since it started',
  };
  const base = { id: 'capacity', title: 'Capacity: ingest and storage against limits', criteria: ['A1.1'], data };
  const nearlyFull = diskUse.filter(
    (disk) => disk.free_share < minFreeShare || (disk.days_until_full !== null && disk.days_until_full < forecastDays),
  );
  if (nearlyFull.length > 0) {
    return {
      ...base,
      status: 'fail',
      reason: `disk ${nearlyFull.map((disk) => `${disk.disk} (${(disk.free_share * 100).toFixed(1)}% free, full in ${disk.days_until_full ?? '∞'} days)`).join(', ')} runs out within ${forecastDays} days`,
    };
  }
  const tight = diskUse.filter((disk) => data.storage.steady_state_log_bytes > disk.free_bytes + disk.meshlog_bytes);
  if (capacityRefused.length > 0 || tight.length > 0) {
    const reasons = [
      ...capacityRefused.map(([code, count]) => `${count} requests refused with ${code} since the server started`),
      ...tight.map((disk) => `at the forecast rate, ${longestRetentionDays} days of retention need more than disk ${disk.disk} holds`),
    ];
    return { ...base, status: 'attention', reason: reasons.join('; ') };
  }
  const soonest = diskUse.map((disk) => disk.days_until_full).filter((days): days is number => days !== null);
  return {
    ...base,
    status: 'pass',
    reason: `${Math.round(forecastDaily)} records a day forecast; ${(storedBytes / 1_048_576).toFixed(1)} MiB stored, ${soonest.length === 0 ? 'no growth forecast' : Math.min(...soonest) > longHorizonDays ? 'disk lasts over 10 years at that rate' : `disk full in ${Math.min(...soonest)} days at that rate`}; no request refused for capacity`,
  };
}
