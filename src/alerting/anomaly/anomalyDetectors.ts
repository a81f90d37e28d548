import type { LogRecord } from '../../model/logRecord.js';
import { robustBaseline, robustScore } from './robustBaseline.js';

export interface AnomalyOptions {
  bucketMs: number;
  /** Closed buckets the baseline is computed over. */
  baselineBuckets: number;
  /** Buckets a service must have been watched before it is judged. */
  warmupBuckets: number;
  /** Robust deviations (median/MAD) that make a value anomalous. */
  threshold: number;
  /** Fewer records than this in a bucket are never a volume or pattern anomaly (noise guard). */
  minVolume: number;
  /** Fewer errors (or denials) than this are never an error-rate or access-denied anomaly. */
  minErrors: number;
  /** Empty buckets after which a service that used to send is reported silent. */
  silentBuckets: number;
}

/** Settings for some tenants or services: a tenant and service both given is the most specific match. */
export interface AnomalyOverride {
  tenant?: string;
  serviceName?: string;
  enabled?: boolean;
  threshold?: number;
  minVolume?: number;
  minErrors?: number;
  silentBuckets?: number;
}

type JudgeOptions = Pick<AnomalyOptions, 'threshold' | 'minVolume' | 'minErrors' | 'silentBuckets'> & { enabled: boolean };

export type DetectorName =
  | 'volume_spike'
  | 'volume_drop'
  | 'error_rate'
  | 'access_denied_spike'
  | 'unusual_destination'
  | 'new_pattern'
  | 'pattern_surge'
  | 'silent_service';

/** Something a detector found in the bucket just closed, with why. */
export interface AnomalyFinding {
  detector: DetectorName;
  tenant: string;
  serviceName: string;
  /** The pattern a pattern finding is about, or the `source → destination` of an unusual destination. */
  patternId?: string;
  value: number;
  baseline: number;
  explanation: string;
  /** Trust Services Criteria the detection evidences. */
  criteria: string;
}

interface BucketCounts {
  total: number;
  errors: number;
  denied: number;
  patterns: Map<string, number>;
  /** Mesh requests per `source → destination` workload pair. */
  routes: Map<string, number>;
}

interface ServiceSeries {
  tenant: string;
  serviceName: string;
  options: JudgeOptions;
  current: BucketCounts;
  /** Closed buckets, oldest first, at most baselineBuckets. */
  history: BucketCounts[];
  /** Closed buckets observed in all, to know when warm-up is over. */
  closed: number;
  knownPatterns: Set<string>;
  knownRoutes: Set<string>;
  /** Bucket totals seen in each hour of the day (most recent last), for a baseline that knows the daily cycle. */
  byHour: number[][];
  /** Median per bucket before the current silence began, kept while the silence outlasts the history. */
  volumeBeforeSilence: number | undefined;
  /** Empty buckets in a row, the one just closed included. */
  emptyRun: number;
}

/** Samples kept per hour of the day, and how many make that hour's own baseline usable. */
const seasonalSamples = 120;
const seasonalMinimum = 3;
/** A silent service stays reported this long, then is forgotten (a decommissioned service must not page forever). */
const silenceReportedMs = 24 * 3600_000;

const emptyCounts = (): BucketCounts => ({ total: 0, errors: 0, denied: 0, patterns: new Map(), routes: new Map() });

function statusOf(record: LogRecord): number {
  return record.mesh?.responseCode || Number(record.attributes['http.response.status_code'] ?? record.attributes['http.status_code'] ?? 0);
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
const rounded = (value: number) => String(Number(value.toFixed(2)));

/**
 * Per-service detectors over fixed time buckets of committed records:
 * volume spikes and drops, error-rate and 401/403 surges against a robust
 * (median/MAD) baseline, new and surging log patterns, and services that
 * went silent. `observe` counts; `close` ends a bucket and judges it.
 */
export class AnomalyDetectors {
  private readonly series = new Map<string, ServiceSeries>();

  constructor(
    private readonly options: AnomalyOptions,
    private readonly templateOf: (tenant: string, serviceName: string, patternId: string) => string | undefined = () => undefined,
    private readonly overrides: AnomalyOverride[] = [],
  ) {}

  /** The defaults, then the overrides that match, least specific first. */
  private optionsFor(tenant: string, serviceName: string): JudgeOptions {
    const specificity = (o: AnomalyOverride) => (o.tenant !== undefined ? 1 : 0) + (o.serviceName !== undefined ? 2 : 0);
    const matching = this.overrides
      .filter((o) => (o.tenant === undefined || o.tenant === tenant) && (o.serviceName === undefined || o.serviceName === serviceName))
      .sort((a, b) => specificity(a) - specificity(b));
    const { threshold, minVolume, minErrors, silentBuckets } = this.options;
    const options: JudgeOptions = { enabled: true, threshold, minVolume, minErrors, silentBuckets };
    for (const o of matching) {
      for (const key of ['enabled', 'threshold', 'minVolume', 'minErrors', 'silentBuckets'] as const) {
        if (o[key] !== undefined) (options as Record<string, unknown>)[key] = o[key];
      }
    }
    return options;
  }

  observe(records: LogRecord[]): void {
    for (const record of records) {
      const key = `${record.tenant}\0${record.serviceName}`;
      let series = this.series.get(key);
      if (!series) {
        const options = this.optionsFor(record.tenant, record.serviceName);
        series = { tenant: record.tenant, serviceName: record.serviceName, options, current: emptyCounts(), history: [], closed: 0, knownPatterns: new Set(), knownRoutes: new Set(), byHour: Array.from({ length: 24 }, () => []), volumeBeforeSilence: undefined, emptyRun: 0 };
        this.series.set(key, series);
      }
      const counts = series.current;
      counts.total++;
      const status = statusOf(record);
      if (record.severityNumber >= 17 || status >= 500) counts.errors++;
      if (status === 401 || status === 403) counts.denied++;
      if (record.patternId) counts.patterns.set(record.patternId, (counts.patterns.get(record.patternId) ?? 0) + 1);
      const destination = record.mesh?.destinationWorkload;
      if (destination) {
        const route = `${record.mesh!.sourceWorkload || 'unknown'} → ${destination}`;
        counts.routes.set(route, (counts.routes.get(route) ?? 0) + 1);
      }
    }
  }

  /**
   * Ends the current bucket of every service and returns what it shows.
   * `hourOfDay` (UTC) of the bucket lets volume be judged against the same
   * hour on earlier days once enough of those were seen.
   */
  close(hourOfDay?: number): AnomalyFinding[] {
    const findings: AnomalyFinding[] = [];
    for (const series of this.series.values()) {
      const bucket = series.current;
      const sameHour = hourOfDay === undefined ? undefined : series.byHour[hourOfDay];
      series.emptyRun = bucket.total === 0 ? series.emptyRun + 1 : 0;
      if (series.emptyRun === 1) series.volumeBeforeSilence = series.history.length > 0 ? robustBaseline(series.history.map((counts) => counts.total)).median : undefined;
      if (series.options.enabled && series.closed >= this.options.warmupBuckets) findings.push(...this.judge(series, bucket, sameHour));
      if (sameHour) {
        sameHour.push(bucket.total);
        if (sameHour.length > seasonalSamples) sameHour.shift();
      }
      for (const patternId of bucket.patterns.keys()) series.knownPatterns.add(patternId);
      for (const route of bucket.routes.keys()) series.knownRoutes.add(route);
      series.history.push(bucket);
      if (series.history.length > this.options.baselineBuckets) series.history.shift();
      series.current = emptyCounts();
      series.closed++;
      if (series.emptyRun * this.options.bucketMs >= silenceReportedMs) this.series.delete(`${series.tenant}\0${series.serviceName}`);
    }
    return findings;
  }

  private judge(series: ServiceSeries, bucket: BucketCounts, sameHour: number[] | undefined): AnomalyFinding[] {
    const { threshold, minVolume, minErrors, silentBuckets } = series.options;
    const { bucketMs } = this.options;
    const history = series.history;
    const found: AnomalyFinding[] = [];
    const finding = (detector: DetectorName, value: number, baseline: number, explanation: string, criteria: string, patternId?: string) =>
      found.push({ detector, tenant: series.tenant, serviceName: series.serviceName, value, baseline, explanation, criteria, ...(patternId ? { patternId } : {}) });
    const window = `${bucketMs / 1000}s`;

    const seasonal = sameHour !== undefined && sameHour.length >= seasonalMinimum;
    const volume = robustBaseline(seasonal ? sameHour : history.map((counts) => counts.total));
    const basis = seasonal ? `median of ${sameHour.length} buckets at this hour of day` : `median of the last ${history.length} buckets`;
    const volumeScore = robustScore(bucket.total, volume, Math.max(Math.sqrt(volume.median), 1));
    if (volumeScore > threshold && bucket.total >= minVolume) {
      finding('volume_spike', bucket.total, volume.median, `${bucket.total} records in the last ${window}, typical ${rounded(volume.median)} (${basis}, MAD ${rounded(volume.mad)}): ${rounded(volumeScore)} robust deviations above`, 'CC7.2');
    }
    if (volumeScore < -threshold && volume.median >= minVolume && bucket.total > 0) {
      finding('volume_drop', bucket.total, volume.median, `${bucket.total} records in the last ${window}, typical ${rounded(volume.median)} (${basis}): ${rounded(-volumeScore)} robust deviations below`, 'CC7.2');
    }

    // Silent: at least silentBuckets empty buckets in a row after a history of sending, reported until it sends again.
    const usual = series.volumeBeforeSilence;
    if (series.emptyRun >= silentBuckets && usual !== undefined && usual >= 1) {
      finding('silent_service', 0, usual, `no records for ${series.emptyRun} buckets of ${window}; it used to send a median of ${rounded(usual)} per bucket: a logging gap`, 'CC7.2, CC7.3');
    }

    const busy = history.filter((counts) => counts.total >= minVolume);
    if (bucket.total >= minVolume && bucket.errors >= minErrors && busy.length > 0) {
      const rate = bucket.errors / bucket.total;
      const rates = robustBaseline(busy.map((counts) => counts.errors / counts.total));
      const score = robustScore(rate, rates, 0.02);
      if (score > threshold) {
        finding('error_rate', rate, rates.median, `error rate ${percent(rate)} (${bucket.errors} of ${bucket.total}) in the last ${window}, typical ${percent(rates.median)}: ${rounded(score)} robust deviations above`, 'CC7.2');
      }
    }

    const denied = robustBaseline(history.map((counts) => counts.denied));
    const deniedScore = robustScore(bucket.denied, denied, Math.max(Math.sqrt(denied.median), 1));
    if (bucket.denied >= minErrors && deniedScore > threshold) {
      finding('access_denied_spike', bucket.denied, denied.median, `${bucket.denied} responses 401/403 in the last ${window}, typical ${rounded(denied.median)}: ${rounded(deniedScore)} robust deviations above (possible credential stuffing or broken authorization)`, 'CC6.1, CC7.2');
    }

    for (const [route, count] of bucket.routes) {
      if (series.knownRoutes.has(route)) continue;
      finding('unusual_destination', count, 0, `mesh requests ${route} never seen before: ${count} in the last ${window} (possible lateral movement or a misrouted client)`, 'CC6.6, CC7.2', route);
    }

    for (const [patternId, count] of bucket.patterns) {
      const template = this.templateOf(series.tenant, series.serviceName, patternId);
      const shown = template !== undefined ? `"${template}"` : patternId;
      if (!series.knownPatterns.has(patternId)) {
        finding('new_pattern', count, 0, `log pattern ${shown} never seen from this service before: ${count} lines in the last ${window}`, 'CC7.2', patternId);
        continue;
      }
      if (count < minVolume) continue;
      const pattern = robustBaseline(history.map((counts) => counts.patterns.get(patternId) ?? 0));
      const score = robustScore(count, pattern, Math.max(Math.sqrt(pattern.median), 1));
      if (score > threshold) {
        finding('pattern_surge', count, pattern.median, `log pattern ${shown}: ${count} lines in the last ${window}, typical ${rounded(pattern.median)}: ${rounded(score)} robust deviations above`, 'CC7.2', patternId);
      }
    }
    return found;
  }
}
