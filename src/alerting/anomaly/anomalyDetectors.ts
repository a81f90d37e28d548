import type { LogRecord } from '../../model/logRecord.js';
import { rateSurprise, shortfallSurprise } from './rateSurprise.js';
import { robustBaseline, robustScore } from './robustBaseline.js';

export interface AnomalyOptions {
  bucketMs: number;
  /**
   * How long after a bucket ends records stamped in it are still counted
   * (a watermark, as streaming engines keep): later ones are late, counted
   * apart and never judged, so a shipper catching up is not a spike.
   */
  latenessMs: number;
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
  /** Lines a service must have sent (besides warmupBuckets) before a template it never sent is news. */
  newPatternWarmupLines: number;
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
  /** Highest severity number among the lines of each pattern. */
  patternSeverity: Map<string, number>;
  /** Mesh requests per `source → destination` workload pair. */
  routes: Map<string, number>;
  /** Requests with a status and 5xx responses per route (`http.route`, else the mesh destination). */
  routeStatus: Map<string, { requests: number; errors: number }>;
  /** False for a bucket of a spike or drop: left out of the volume and pattern baselines, so the return to normal is not judged against the outage. */
  usual: boolean;
  /**
   * The typical volume it was judged against (at its hour of day, when known)
   * and how much more than chance that baseline varied: a drop over several
   * buckets sums their own expectations.
   */
  expected?: { volume: number; dispersion: number };
}

interface ServiceSeries {
  tenant: string;
  serviceName: string;
  options: JudgeOptions;
  /** Buckets not closed yet, by start (ms since the epoch, a multiple of bucketMs). */
  open: Map<number, BucketCounts>;
  /** Start of the bucket of its first record: earlier buckets are not its history (nor its warm-up). */
  sinceMs: number;
  /** Closed buckets, oldest first, at most baselineBuckets. */
  history: BucketCounts[];
  /** Closed buckets observed in all, to know when warm-up is over. */
  closed: number;
  knownPatterns: Set<string>;
  /** Words of the templates of knownPatterns: a new template made of known words is a variant, not news. */
  knownWords: Set<string>;
  /** Lines counted in closed buckets. */
  lines: number;
  knownRoutes: Set<string>;
  /** Bucket totals seen in each hour of the day, with their day (most recent last), for a baseline that knows the daily cycle. */
  byHour: { day: number; total: number }[][];
  /** Median per bucket before the current silence began, kept while the silence outlasts the history. */
  volumeBeforeSilence: number | undefined;
  /** Empty buckets in a row, the one just closed included. */
  emptyRun: number;
  /** Buckets in a row with a volume finding: past a whole baseline of them, the new level is accepted as usual. */
  unusualRun: number;
  /** What the bucket before found (detector and pattern or route): it stays found while above half the threshold. */
  firing: Set<string>;
}

/** Bucket totals kept per hour of the day, and how many earlier days of that hour make its baseline usable. */
const seasonalSamples = 1000;
const seasonalMinimumDays = 3;
const dayMs = 86_400_000;
/** A silent service stays reported this long, then is forgotten (a decommissioned service must not page forever). */
const silenceReportedMs = 24 * 3600_000;

const emptyCounts = (): BucketCounts => ({
  total: 0,
  errors: 0,
  denied: 0,
  patterns: new Map(),
  patternSeverity: new Map(),
  routes: new Map(),
  routeStatus: new Map(),
  usual: true,
});
/** Routes tracked per service and bucket: a client inventing paths must not grow memory without bound. */
const maxRoutes = 200;
/** Usual buckets a volume baseline needs; with fewer (a new level just accepted), every bucket kept is its baseline. */
const minUsualBuckets = 3;
/** A drop is at most this share of the usual volume. */
const dropShare = 0.5;
/** Windows (in buckets, ending with the one just closed) volume drops are judged over: one for a big service, more for a small one. */
const dropWindows = [1, 2, 4, 8];
/** Windows the error rate is judged over: one for a burst, more for a smaller step or a route with few requests. */
const errorWindows = [1, 2, 4, 8, 16, 32];

function routeOf(record: LogRecord): string | undefined {
  return record.attributes['http.route'] || record.mesh?.destinationWorkload || undefined;
}

function statusOf(record: LogRecord): number {
  return record.mesh?.responseCode || Number(record.attributes['http.response.status_code'] ?? record.attributes['http.status_code'] ?? 0);
}

/** New templates a new-pattern finding lists (the rest are counted). */
const listedNewPatterns = 3;
/** The words of a template: runs of letters, lower-cased; numbers, ids and wildcards say nothing of the message. */
const wordsOf = (template: string) => [...new Set(template.toLowerCase().match(/(?<![\w])[a-z][a-z_]*[a-z](?![\w])/g) ?? [])];

const firingKey = (finding: { detector: DetectorName; patternId?: string }) => `${finding.detector}\0${finding.patternId ?? ''}`;
/**
 * A finding that held in the bucket before holds while its score stays above
 * this share of the threshold (a Schmitt trigger): a small route's error step
 * whose evidence wobbles around the threshold is one incident, not several.
 */
const sustainShare = 0.5;

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
const rounded = (value: number) => String(Number(value.toFixed(2)));

/**
 * Per-service detectors over fixed time buckets of committed records:
 * volume spikes and drops, error-rate and 401/403 surges against a robust
 * (median/MAD) baseline, new and surging log patterns, and services that
 * went silent. Records count in the bucket of their own timestamp.
 * `observe` counts; `close` ends the buckets the watermark has passed and
 * judges them.
 */
export class AnomalyDetectors {
  private readonly series = new Map<string, ServiceSeries>();
  /** End of the buckets closed so far: records stamped before it are late. */
  private watermarkMs: number | undefined;
  /** Records that arrived after their bucket was closed, never judged. */
  lateRecords = 0;

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

  private bucketStart(timeMs: number): number {
    return Math.floor(timeMs / this.options.bucketMs) * this.options.bucketMs;
  }

  /** Counts records that arrived at `nowMs` in the buckets of their timestamps. */
  observe(records: LogRecord[], nowMs: number): void {
    this.watermarkMs ??= this.bucketStart(nowMs - this.options.latenessMs);
    for (const record of records) {
      let timeMs = Number(record.timeUnixNano / 1_000_000n);
      // No timestamp, or one from a clock running ahead: arrival is the best guess.
      if (timeMs <= 0 || timeMs >= nowMs + this.options.bucketMs) timeMs = nowMs;
      const start = this.bucketStart(timeMs);
      if (start < this.watermarkMs) {
        this.lateRecords++;
        continue;
      }
      const key = `${record.tenant}\0${record.serviceName}`;
      let series = this.series.get(key);
      if (!series) {
        const options = this.optionsFor(record.tenant, record.serviceName);
        series = {
          tenant: record.tenant,
          serviceName: record.serviceName,
          options,
          open: new Map(),
          sinceMs: start,
          history: [],
          closed: 0,
          knownPatterns: new Set(),
          knownWords: new Set(),
          lines: 0,
          knownRoutes: new Set(),
          byHour: Array.from({ length: 24 }, () => []),
          volumeBeforeSilence: undefined,
          emptyRun: 0,
          unusualRun: 0,
          firing: new Set(),
        };
        this.series.set(key, series);
      }
      let counts = series.open.get(start);
      if (!counts) series.open.set(start, (counts = emptyCounts()));
      counts.total++;
      const status = statusOf(record);
      if (record.severityNumber >= 17 || status >= 500) counts.errors++;
      if (status === 401 || status === 403) counts.denied++;
      const route = status > 0 ? routeOf(record) : undefined;
      if (route !== undefined) {
        let requests = counts.routeStatus.get(route);
        if (!requests && counts.routeStatus.size < maxRoutes) counts.routeStatus.set(route, (requests = { requests: 0, errors: 0 }));
        if (requests) {
          requests.requests++;
          if (status >= 500) requests.errors++;
        }
      }
      if (record.patternId) {
        counts.patterns.set(record.patternId, (counts.patterns.get(record.patternId) ?? 0) + 1);
        if (record.severityNumber > (counts.patternSeverity.get(record.patternId) ?? 0))
          counts.patternSeverity.set(record.patternId, record.severityNumber);
      }
      const destination = record.mesh?.destinationWorkload;
      if (destination) {
        const route = `${record.mesh!.sourceWorkload || 'unknown'} → ${destination}`;
        counts.routes.set(route, (counts.routes.get(route) ?? 0) + 1);
      }
    }
  }

  /** Closes, oldest first, every bucket that ended at least latenessMs before `nowMs`, and returns what each shows. */
  closeBuckets(nowMs: number): { startMs: number; findings: AnomalyFinding[] }[] {
    const closed: { startMs: number; findings: AnomalyFinding[] }[] = [];
    this.watermarkMs ??= this.bucketStart(nowMs - this.options.latenessMs);
    while (this.watermarkMs + this.options.bucketMs <= nowMs - this.options.latenessMs) {
      closed.push({ startMs: this.watermarkMs, findings: this.closeBucket(this.watermarkMs) });
      this.watermarkMs += this.options.bucketMs;
    }
    return closed;
  }

  /** The findings of every bucket `closeBuckets` closes. */
  close(nowMs: number): AnomalyFinding[] {
    return this.closeBuckets(nowMs).flatMap((bucket) => bucket.findings);
  }

  /**
   * Judges the bucket starting at `startMs` for every service. Its hour of
   * day (UTC) lets volume be judged against the same hour on earlier days
   * once enough of those were seen.
   */
  private closeBucket(startMs: number): AnomalyFinding[] {
    const findings: AnomalyFinding[] = [];
    const hourOfDay = new Date(startMs).getUTCHours();
    const day = Math.floor(startMs / dayMs);
    for (const series of this.series.values()) {
      if (startMs < series.sinceMs) continue;
      const bucket = series.open.get(startMs) ?? emptyCounts();
      series.open.delete(startMs);
      const sameHour = series.byHour[hourOfDay];
      // Only earlier days: today's buckets of this hour are what is being judged, not its baseline.
      const earlierDays = sameHour.filter((sample) => sample.day < day);
      const seasonal =
        new Set(earlierDays.map((sample) => sample.day)).size >= seasonalMinimumDays
          ? earlierDays.map((sample) => sample.total)
          : undefined;
      series.emptyRun = bucket.total === 0 ? series.emptyRun + 1 : 0;
      if (series.emptyRun === 1)
        series.volumeBeforeSilence =
          series.history.length > 0 ? robustBaseline(series.history.map((counts) => counts.total)).median : undefined;
      const judged = series.options.enabled && series.closed >= this.options.warmupBuckets ? this.judge(series, bucket, seasonal) : [];
      findings.push(...judged);
      series.firing = new Set(judged.map(firingKey));
      const unusualVolume = judged.some((finding) => finding.detector === 'volume_spike' || finding.detector === 'volume_drop');
      series.unusualRun = unusualVolume ? series.unusualRun + 1 : 0;
      if (unusualVolume && series.unusualRun <= this.options.baselineBuckets) bucket.usual = false;
      for (const patternId of bucket.patterns.keys()) {
        if (series.knownPatterns.has(patternId)) continue;
        series.knownPatterns.add(patternId);
        for (const word of wordsOf(this.templateOf(series.tenant, series.serviceName, patternId) ?? '')) series.knownWords.add(word);
      }
      series.lines += bucket.total;
      for (const route of bucket.routes.keys()) series.knownRoutes.add(route);
      // A silent service's baselines pause (its first empty buckets, already kept, are taken back): on its return it is judged against how it was before.
      const silent = series.emptyRun >= series.options.silentBuckets && (series.volumeBeforeSilence ?? 0) >= 1;
      if (silent && series.emptyRun === series.options.silentBuckets) series.history.splice(-(series.options.silentBuckets - 1));
      if (!silent) {
        if (bucket.usual) sameHour.push({ day, total: bucket.total });
        if (sameHour.length > seasonalSamples) sameHour.shift();
        series.history.push(bucket);
        if (series.history.length > this.options.baselineBuckets) series.history.shift();
      }
      series.closed++;
      if (series.emptyRun * this.options.bucketMs >= silenceReportedMs) this.series.delete(`${series.tenant}\0${series.serviceName}`);
    }
    return findings;
  }

  private judge(series: ServiceSeries, bucket: BucketCounts, sameHour: number[] | undefined): AnomalyFinding[] {
    const { minVolume, minErrors, silentBuckets } = series.options;
    const { bucketMs } = this.options;
    const thresholdOf = (detector: DetectorName, patternId?: string) =>
      series.options.threshold * (series.firing.has(firingKey({ detector, patternId })) ? sustainShare : 1);
    const history = series.history;
    const found: AnomalyFinding[] = [];
    const finding = (detector: DetectorName, value: number, baseline: number, explanation: string, criteria: string, patternId?: string) =>
      found.push({
        detector,
        tenant: series.tenant,
        serviceName: series.serviceName,
        value,
        baseline,
        explanation,
        criteria,
        ...(patternId ? { patternId } : {}),
      });
    const window = `${bucketMs / 1000}s`;

    // Buckets of a spike or drop are not the baseline, unless they are most of it.
    const usualBuckets = history.filter((counts) => counts.usual);
    const baseline = usualBuckets.length >= minUsualBuckets ? usualBuckets : history;
    const volume = robustBaseline(sameHour ?? baseline.map((counts) => counts.total));
    const basis = sameHour
      ? `median of ${sameHour.length} buckets at this hour of earlier days`
      : `median of the last ${baseline.length} usual buckets`;
    bucket.expected = { volume: volume.median, dispersion: Math.max(1, (1.4826 * volume.mad) ** 2 / Math.max(volume.median, 1)) };
    const volumeScore = robustScore(bucket.total, volume, Math.max(Math.sqrt(volume.median), 1));
    if (volumeScore > thresholdOf('volume_spike') && bucket.total >= minVolume) {
      finding(
        'volume_spike',
        bucket.total,
        volume.median,
        `${bucket.total} records in the last ${window}, typical ${rounded(volume.median)} (${basis}, MAD ${rounded(volume.mad)}): ${rounded(volumeScore)} robust deviations above`,
        'CC7.2',
      );
    }
    const drop = bucket.total > 0 ? this.shortfall(history, bucket, minVolume, thresholdOf('volume_drop')) : undefined;
    if (drop) {
      finding(
        'volume_drop',
        drop.observed,
        drop.expected,
        `${drop.observed} records in the last ${(drop.window * bucketMs) / 1000}s, typical ${rounded(drop.expected)} (${basis}): ${rounded(drop.score)} deviations below`,
        'CC7.2',
      );
    }

    // Silent: at least silentBuckets empty buckets in a row after a history of sending, reported until it sends again.
    const usual = series.volumeBeforeSilence;
    if (series.emptyRun >= silentBuckets && usual !== undefined && usual >= 1) {
      finding(
        'silent_service',
        0,
        usual,
        `no records for ${series.emptyRun} buckets of ${window}; it used to send a median of ${rounded(usual)} per bucket: a logging gap`,
        'CC7.2, CC7.3',
      );
    }

    // Error rate of the service (error severity or 5xx), then of each of its routes (5xx).
    const serviceRate = this.errorRate(series, bucket, thresholdOf('error_rate'), (counts) => ({
      requests: counts.total,
      errors: counts.errors,
    }));
    if (serviceRate) finding('error_rate', serviceRate.rate, serviceRate.baseline, `error rate ${serviceRate.text}`, 'CC7.2');
    for (const route of bucket.routeStatus.keys()) {
      const routeRate = this.errorRate(
        series,
        bucket,
        thresholdOf('error_rate', route),
        (counts) => counts.routeStatus.get(route) ?? { requests: 0, errors: 0 },
      );
      if (routeRate)
        finding('error_rate', routeRate.rate, routeRate.baseline, `error rate on route ${route}: ${routeRate.text}`, 'CC7.2', route);
    }

    const denied = robustBaseline(history.map((counts) => counts.denied));
    const deniedScore = robustScore(bucket.denied, denied, Math.max(Math.sqrt(denied.median), 1));
    if (bucket.denied >= minErrors && deniedScore > thresholdOf('access_denied_spike')) {
      finding(
        'access_denied_spike',
        bucket.denied,
        denied.median,
        `${bucket.denied} responses 401/403 in the last ${window}, typical ${rounded(denied.median)}: ${rounded(deniedScore)} robust deviations above (possible credential stuffing or broken authorization)`,
        'CC6.1, CC7.2',
      );
    }

    for (const [route, count] of bucket.routes) {
      if (series.knownRoutes.has(route)) continue;
      finding(
        'unusual_destination',
        count,
        0,
        `mesh requests ${route} never seen before: ${count} in the last ${window} (possible lateral movement or a misrouted client)`,
        'CC6.6, CC7.2',
        route,
      );
    }

    const news = this.newPatterns(series, bucket);
    if (news.length > 0) {
      const listed = news.slice(0, listedNewPatterns).map((news) => `${news.shown} (rarity ${rounded(news.rarity)}, ${news.count} lines)`);
      const more = news.length > listedNewPatterns ? `, and ${news.length - listedNewPatterns} more` : '';
      finding(
        'new_pattern',
        news[0].count,
        0,
        `${news.length === 1 ? 'log pattern' : `${news.length} log patterns`} never seen from this service before, rarest first: ${listed.join('; ')}${more} in the last ${window}`,
        'CC7.2',
        news[0].patternId,
      );
    }

    for (const [patternId, count] of bucket.patterns) {
      if (!series.knownPatterns.has(patternId) || count < minVolume) continue;
      const template = this.templateOf(series.tenant, series.serviceName, patternId);
      const shown = template !== undefined ? `"${template}"` : patternId;
      const pattern = robustBaseline(baseline.map((counts) => counts.patterns.get(patternId) ?? 0));
      const score = robustScore(count, pattern, Math.max(Math.sqrt(pattern.median), 1));
      if (score > thresholdOf('pattern_surge', patternId)) {
        finding(
          'pattern_surge',
          count,
          pattern.median,
          `log pattern ${shown}: ${count} lines in the last ${window}, typical ${rounded(pattern.median)}: ${rounded(score)} robust deviations above`,
          'CC7.2',
          patternId,
        );
      }
    }
    return found;
  }

  /**
   * The templates in the bucket the service never sent before that are news,
   * rarest first. None while the service is young (everything is new then).
   * Rarity is the share of the template's words the service never used
   * (a new variant of a known message scores 0) plus 1 for an error line,
   * ½ for a warning; a template is news from a rarity of 1: an error, or a
   * message in words never seen.
   */
  private newPatterns(series: ServiceSeries, bucket: BucketCounts): { patternId: string; shown: string; rarity: number; count: number }[] {
    if (series.lines < this.options.newPatternWarmupLines) return [];
    const news: { patternId: string; shown: string; rarity: number; count: number }[] = [];
    for (const [patternId, count] of bucket.patterns) {
      if (series.knownPatterns.has(patternId)) continue;
      const template = this.templateOf(series.tenant, series.serviceName, patternId);
      const words = wordsOf(template ?? '');
      const novelty = words.length === 0 ? 0 : words.filter((word) => !series.knownWords.has(word)).length / words.length;
      const severity = bucket.patternSeverity.get(patternId) ?? 0;
      const rarity = novelty + (severity >= 17 ? 1 : severity >= 13 ? 0.5 : 0);
      if (rarity >= 1) news.push({ patternId, shown: template !== undefined ? `"${template}"` : patternId, rarity, count });
    }
    return news.sort((a, b) => b.rarity - a.rarity || b.count - a.count);
  }

  /**
   * A drop in volume over the last 1, 2, 4 or 8 buckets (the one just closed
   * included): Poisson lower tail of the records seen against the sum of
   * each bucket's typical volume, widened by how much more the baseline varies than
   * chance. A big service's drop shows in one bucket, a small one's in a few.
   */
  private shortfall(history: BucketCounts[], bucket: BucketCounts, minVolume: number, threshold: number) {
    const buckets = [...history, bucket];
    let best: { score: number; window: number; observed: number; expected: number } | undefined;
    for (const window of dropWindows) {
      const recent = buckets.slice(-window);
      if (window > buckets.length || recent.some((counts) => counts.expected === undefined)) break;
      const observed = recent.reduce((sum, counts) => sum + counts.total, 0);
      const expected = recent.reduce((sum, counts) => sum + counts.expected!.volume, 0);
      const dispersion =
        recent.reduce((sum, counts) => sum + counts.expected!.volume * counts.expected!.dispersion, 0) / Math.max(expected, 1);
      // A slow slide (the evening ebb a one-hour median lags behind) is not a drop; half the usual volume gone is.
      if (expected < minVolume || observed > dropShare * expected) continue;
      // Still happening: the latest quarter of the window is as low, so a long window does not keep an ended drop alive.
      const latest = recent.slice(-Math.ceil(window / 4));
      if (
        latest.reduce((sum, counts) => sum + counts.total, 0) >
        dropShare * latest.reduce((sum, counts) => sum + counts.expected!.volume, 0)
      )
        continue;
      const score = shortfallSurprise(observed, expected, dispersion);
      if (score > threshold && (!best || score > best.score)) best = { score, window, observed, expected };
    }
    return best;
  }

  /**
   * Judges the share of errors over the last 1, 2 and 4 buckets against the
   * rate of the earlier buckets: Poisson surprise, widened by how much more
   * the baseline's counts varied than chance would make them (so a noisy
   * service needs a bigger step). A burst shows in one bucket, a step from
   * 1% to 5% within a few.
   */
  private errorRate(
    series: ServiceSeries,
    bucket: BucketCounts,
    threshold: number,
    of: (counts: BucketCounts) => { requests: number; errors: number },
  ) {
    const { minErrors } = series.options;
    const buckets = [...series.history, bucket].map(of);
    let best: { score: number; window: number; requests: number; errors: number; rate: number } | undefined;
    for (const window of errorWindows) {
      if (window > buckets.length - 1) break;
      const recent = buckets.slice(-window);
      const earlier = buckets.slice(0, -window).filter((counts) => counts.requests > 0);
      const requests = recent.reduce((sum, counts) => sum + counts.requests, 0);
      const errors = recent.reduce((sum, counts) => sum + counts.errors, 0);
      const baselineRequests = earlier.reduce((sum, counts) => sum + counts.requests, 0);
      // Half an error of prior: a route that never failed still has a rate, not zero.
      const rate = (earlier.reduce((sum, counts) => sum + counts.errors, 0) + 0.5) / (baselineRequests + 1);
      if (errors < minErrors || errors / requests < 2 * rate || baselineRequests < requests) continue;
      // Still happening: the latest quarter of the window is as bad, so a long window does not keep an ended step alive.
      const latest = recent.slice(-Math.ceil(window / 4));
      const latestRequests = latest.reduce((sum, counts) => sum + counts.requests, 0);
      if (latestRequests === 0 || latest.reduce((sum, counts) => sum + counts.errors, 0) / latestRequests < 2 * rate) continue;
      const chance = earlier.reduce((sum, counts) => sum + counts.requests * rate * (1 - rate), 0);
      const seen = earlier.reduce((sum, counts) => sum + (counts.errors - counts.requests * rate) ** 2, 0);
      const dispersion = Math.max(1, seen / chance);
      const score = rateSurprise(errors, requests, rate, dispersion);
      if (score > threshold && (!best || score > best.score)) best = { score, window, requests, errors, rate };
    }
    if (!best) return undefined;
    const seconds = (best.window * this.options.bucketMs) / 1000;
    return {
      rate: best.errors / best.requests,
      baseline: best.rate,
      text: `${percent(best.errors / best.requests)} (${best.errors} of ${best.requests}) in the last ${seconds}s, typical ${percent(best.rate)}: ${rounded(best.score)} deviations above`,
    };
  }
}
