/**
 * Labelled evaluation of the anomaly detectors (src/alerting/anomaly/):
 * synthetic traffic of six services with a daily cycle and injected
 * incidents (bench/labelledTraffic.ts) goes through the real detectors and
 * the incident correlation, bucket by bucket, with the default settings.
 * Prints per detector the alarms (runs of findings of one detector on one
 * service), their precision and false alarms per service-hour; per incident
 * kind the recall and detection delay; and for the notifications the
 * precision, escalations and duplicates (more than one new alert for one
 * incident).
 *
 *   npx tsc -p . && node dist/bench/anomalyDetection.js      (SEEDS=5 DAYS=5 VERBOSE=1)
 */
import { AnomalyDetectors, type AnomalyFinding, type AnomalyOptions, type DetectorName } from '../src/alerting/anomaly/anomalyDetectors.js';
import { AnomalyIncidents } from '../src/alerting/anomaly/anomalyIncidents.js';
import { labelledTraffic, type IncidentKind, type LabelledIncident } from './labelledTraffic.js';

const seeds = Number(process.env.SEEDS ?? 5);
const days = Number(process.env.DAYS ?? 5);
/** VERBOSE=1 lists every wrong alarm and missed incident. */
const verbose = process.env.VERBOSE === '1';
/** The defaults of `alerting.anomaly` (docs/alerting.md). */
const options: AnomalyOptions = {
  bucketMs: 60_000,
  latenessMs: 30_000,
  baselineBuckets: 60,
  warmupBuckets: 15,
  threshold: 6,
  minVolume: 20,
  minErrors: 5,
  silentBuckets: 5,
  newPatternWarmupLines: 1000,
};
const resolveAfterBuckets = Number(process.env.RESOLVE_AFTER ?? 10);
/** Buckets after an incident ends during which what it leaves behind (error windows, hysteresis) still belongs to it. */
const tailBuckets = 10;
/** Incidents are injected only after this many quiet hours, once the baselines are full. */
const quietHours = 2;
const startMs = Date.UTC(2026, 0, 5);
const bucketsPerHour = 3600_000 / options.bucketMs;

/** Incident kinds a detector's alarm is right about. */
const rightAbout: Record<DetectorName, IncidentKind[]> = {
  volume_spike: ['spike', 'new_template'],
  pattern_surge: ['spike', 'error_step', 'new_template'],
  volume_drop: ['drop', 'silence'],
  silent_service: ['silence', 'drop'],
  error_rate: ['error_step', 'new_template'],
  new_pattern: ['new_template'],
  access_denied_spike: [],
  unusual_destination: [],
};
/** The detector that must catch each incident kind. */
const catcher: Record<IncidentKind, DetectorName> = {
  spike: 'volume_spike',
  drop: 'volume_drop',
  silence: 'silent_service',
  error_step: 'error_rate',
  new_template: 'new_pattern',
};

interface DetectorScore {
  alarms: number;
  right: number;
}
interface KindScore {
  incidents: number;
  caught: number;
  delays: number[];
}

const detectorScores = new Map<DetectorName, DetectorScore>();
const kindScores = new Map<IncidentKind, KindScore>();
const notificationScore = { newAlerts: 0, right: 0, escalations: 0, duplicates: 0, incidentsNotified: 0, incidents: 0 };
let serviceHours = 0;

const within = (incident: LabelledIncident, bucket: number) => incident.fromBucket <= bucket && bucket <= incident.toBucket + tailBuckets;

for (let seed = 1; seed <= seeds; seed++) {
  const traffic = labelledTraffic(seed, days, options.bucketMs, startMs, quietHours);
  const templates = new Map<string, string>();
  const detectors = new AnomalyDetectors(options, (_tenant, _service, patternId) => templates.get(patternId));
  const incidents = new AnomalyIncidents(resolveAfterBuckets);
  const totalBuckets = (days * 86_400_000) / options.bucketMs;
  const found: { bucket: number; finding: AnomalyFinding }[] = [];
  const newAlerts: { bucket: number; serviceName: string; detector: string }[] = [];
  const escalations: typeof newAlerts = [];
  const open = new Set<string>();
  for (let bucket = 0; bucket < totalBuckets; bucket++) {
    const endMs = startMs + (bucket + 1) * options.bucketMs;
    const records = traffic.bucket(bucket);
    for (const record of records) if (!templates.has(record.patternId!)) templates.set(record.patternId!, record.body);
    detectors.observe(records, endMs - 1);
    const findings = detectors.close(endMs + options.latenessMs);
    for (const finding of findings) found.push({ bucket, finding });
    for (const transition of incidents.update(findings, endMs + options.latenessMs)) {
      if (transition.state === 'resolved') open.delete(transition.fingerprint);
      else if (open.has(transition.fingerprint)) {
        notificationScore.escalations++;
        escalations.push({ bucket, serviceName: transition.labels.service_name, detector: transition.labels.detector });
      } else {
        open.add(transition.fingerprint);
        newAlerts.push({ bucket, serviceName: transition.labels.service_name, detector: transition.labels.detector });
      }
    }
  }
  serviceHours += (traffic.services.length * (totalBuckets - options.warmupBuckets)) / bucketsPerHour;

  // Alarms: runs of findings of one detector on one service, a gap of up to two buckets included.
  const runs = new Map<string, number[]>();
  for (const { bucket, finding } of found) {
    const key = `${finding.detector}\0${finding.serviceName}`;
    const buckets = runs.get(key) ?? [];
    if (buckets.at(-1) !== bucket) buckets.push(bucket);
    runs.set(key, buckets);
  }
  for (const [key, buckets] of runs) {
    const [detector, serviceName] = key.split('\0') as [DetectorName, string];
    const score = detectorScores.get(detector) ?? { alarms: 0, right: 0 };
    detectorScores.set(detector, score);
    let first = 0;
    for (let i = 1; i <= buckets.length; i++) {
      if (i < buckets.length && buckets[i] - buckets[i - 1] <= 3) continue;
      const [from, to] = [buckets[first], buckets[i - 1]];
      score.alarms++;
      const right = traffic.incidents.some(
        (incident) =>
          incident.serviceName === serviceName &&
          rightAbout[detector].includes(incident.kind) &&
          from <= incident.toBucket + tailBuckets &&
          to >= incident.fromBucket,
      );
      if (right) score.right++;
      else if (verbose)
        console.log(
          `seed ${seed}: wrong ${detector} on ${serviceName} at buckets ${from}–${to}: ${found.find((f) => f.bucket === from && f.finding.detector === detector && f.finding.serviceName === serviceName)?.finding.explanation}; near: ${JSON.stringify(traffic.incidents.filter((incident) => incident.serviceName === serviceName && Math.abs(incident.fromBucket - from) < 120))}`,
        );
      first = i;
    }
  }

  for (const incident of traffic.incidents) {
    const score = kindScores.get(incident.kind) ?? { incidents: 0, caught: 0, delays: [] };
    kindScores.set(incident.kind, score);
    score.incidents++;
    const first = found.find(
      ({ bucket, finding }) =>
        finding.serviceName === incident.serviceName && finding.detector === catcher[incident.kind] && within(incident, bucket),
    );
    if (first) {
      score.caught++;
      score.delays.push(first.bucket - incident.fromBucket);
    } else if (verbose) console.log(`seed ${seed}: missed ${JSON.stringify(incident)}`);
    const alerts = newAlerts.filter((alert) => alert.serviceName === incident.serviceName && within(incident, alert.bucket)).length;
    notificationScore.incidents++;
    const escalated = escalations.some((alert) => alert.serviceName === incident.serviceName && within(incident, alert.bucket));
    if (alerts > 0 || escalated) notificationScore.incidentsNotified++;
    notificationScore.duplicates += Math.max(0, alerts - 1);
    if (verbose && alerts > 1)
      console.log(
        `seed ${seed}: ${alerts} new alerts for ${JSON.stringify(incident)}: ${JSON.stringify(newAlerts.filter((alert) => alert.serviceName === incident.serviceName && within(incident, alert.bucket)))}`,
      );
  }
  for (const alert of newAlerts) {
    notificationScore.newAlerts++;
    if (traffic.incidents.some((incident) => incident.serviceName === alert.serviceName && within(incident, alert.bucket)))
      notificationScore.right++;
  }
}

const ratio = (a: number, b: number) => (b === 0 ? '—' : (a / b).toFixed(3));
const percentile = (values: number[], p: number) =>
  values.length === 0 ? '—' : String([...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]);
console.log(
  `${seeds} seeds × ${days} days × 6 services, buckets of ${options.bucketMs / 1000}s, ${Math.round(serviceHours)} service-hours judged`,
);
console.log('\ndetector             alarms  right  precision  false alarms/service-hour');
for (const [detector, score] of [...detectorScores].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(
    `${detector.padEnd(20)} ${String(score.alarms).padStart(6)} ${String(score.right).padStart(6)}  ${ratio(score.right, score.alarms).padStart(9)}  ${((score.alarms - score.right) / serviceHours).toFixed(4)}`,
  );
}
console.log('\nincident      caught by       incidents  caught  recall  delay p50 / max (buckets)');
for (const [kind, score] of [...kindScores].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(
    `${kind.padEnd(13)} ${catcher[kind].padEnd(15)} ${String(score.incidents).padStart(9)} ${String(score.caught).padStart(7)}  ${ratio(score.caught, score.incidents).padStart(6)}  ${percentile(score.delays, 0.5)} / ${percentile(score.delays, 1)}`,
  );
}
const n = notificationScore;
console.log(
  `\nnotifications: ${n.newAlerts} new alerts, ${n.right} during an incident (precision ${ratio(n.right, n.newAlerts)}), ` +
    `${((n.newAlerts - n.right) / serviceHours).toFixed(4)} false per service-hour; ${n.incidentsNotified}/${n.incidents} incidents notified (a new alert, or a graver cause sent again); ` +
    `${n.escalations} escalations; ${n.duplicates} duplicates (a second new alert for one incident)`,
);
