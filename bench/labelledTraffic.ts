import { newLogRecord, type LogRecord } from '../src/model/logRecord.js';

/**
 * Synthetic traffic of a few services with a daily cycle, and incidents
 * injected into it with their labels: the ground truth the anomaly
 * detectors are scored against (bench/anomalyDetection.ts).
 */

export type IncidentKind = 'spike' | 'drop' | 'silence' | 'error_step' | 'new_template';

export interface LabelledIncident {
  kind: IncidentKind;
  serviceName: string;
  /** First and last bucket (inclusive) of the injected change. */
  fromBucket: number;
  toBucket: number;
  /** The route an error step is on. */
  route?: string;
}

interface ServiceShape {
  name: string;
  /** Records per bucket at the daily mean. */
  perBucket: number;
  routes: string[];
  /** Known templates, most frequent first (Zipf weights). */
  templates: number;
}

const services: ServiceShape[] = [
  { name: 'gateway', perBucket: 300, routes: ['/api/items', '/api/cart', '/api/checkout', '/api/login'], templates: 6 },
  { name: 'search', perBucket: 150, routes: ['/search', '/suggest'], templates: 8 },
  { name: 'payments', perBucket: 80, routes: ['/charge', '/refund', '/status'], templates: 10 },
  { name: 'auth', perBucket: 60, routes: ['/token', '/userinfo'], templates: 6 },
  { name: 'checkout', perBucket: 40, routes: ['/cart', '/order', '/pay'], templates: 8 },
  { name: 'inventory', perBucket: 25, routes: ['/reserve', '/release'], templates: 5 },
];

const dayMs = 86_400_000;
/** Usual share of 5xx on every route. */
const usualErrorShare = 0.01;
/** A benign template the service never logged before (a deploy, a rare code path) appears this often per service. */
const benignNewTemplateEveryBuckets = 240;

/** Deterministic pseudo-random numbers (mulberry32). */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(mean: number, next: () => number): number {
  if (mean <= 0) return 0;
  if (mean > 30) {
    // Normal approximation (Box–Muller) where Knuth's product would be slow.
    const normal = Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = next(); p > limit; p *= next()) k++;
  return k;
}

/** A template index with Zipf weights 1, 1/2, 1/3, …: a few templates make most lines. */
function zipf(templates: number, next: () => number): number {
  let harmonic = 0;
  for (let t = 1; t <= templates; t++) harmonic += 1 / t;
  let u = next() * harmonic;
  for (let t = 0; t < templates - 1; t++) {
    u -= 1 / (t + 1);
    if (u < 0) return t;
  }
  return templates - 1;
}

const between = (next: () => number, low: number, high: number) => low + Math.floor(next() * (high - low + 1));

export interface LabelledTraffic {
  services: string[];
  incidents: LabelledIncident[];
  /** The records stamped in bucket `bucket` (the same record object may stand for several lines). */
  bucket(bucket: number): LogRecord[];
}

/**
 * `days` of traffic in buckets of `bucketMs` from `startMs` (midnight UTC),
 * with one incident per service every 3 to 6 hours after the first
 * `quietHours`, of a kind drawn at random.
 */
export function labelledTraffic(seed: number, days: number, bucketMs: number, startMs: number, quietHours: number): LabelledTraffic {
  const next = random(seed);
  const bucketsPerHour = 3600_000 / bucketMs;
  const total = (days * dayMs) / bucketMs;
  const kinds: IncidentKind[] = ['spike', 'drop', 'silence', 'error_step', 'new_template'];
  const incidents: LabelledIncident[] = [];
  for (const service of services) {
    let at = quietHours * bucketsPerHour + between(next, 0, 3 * bucketsPerHour);
    while (true) {
      const kind = kinds[Math.floor(next() * kinds.length)];
      const length = {
        spike: between(next, 5, 30),
        drop: between(next, 15, 45),
        silence: between(next, 10, 60),
        error_step: between(next, 15, 60),
        new_template: between(next, 1, 10),
      }[kind];
      if (at + length >= total) break;
      incidents.push({
        kind,
        serviceName: service.name,
        fromBucket: at,
        toBucket: at + length - 1,
        ...(kind === 'error_step' ? { route: service.routes[Math.floor(next() * service.routes.length)] } : {}),
      });
      at += length + between(next, 3 * bucketsPerHour, 6 * bucketsPerHour);
    }
  }
  // Strength of each incident, drawn once.
  const strength = new Map<LabelledIncident, number>(incidents.map((incident) => [incident, next()]));
  let benignTemplates = 0;

  return {
    services: services.map((service) => service.name),
    incidents,
    bucket(bucket) {
      const bucketStartMs = startMs + bucket * bucketMs;
      const records: LogRecord[] = [];
      const minuteOfDay = ((bucketStartMs % dayMs) / 60_000) | 0;
      // Busy afternoons, quiet nights: 0.3× to 1.7× the mean, with some wobble between buckets.
      const cycle = 1 + 0.7 * Math.sin(2 * Math.PI * (minuteOfDay / 1440 - 0.375));
      for (const service of services) {
        const active = incidents.find(
          (incident) => incident.serviceName === service.name && incident.fromBucket <= bucket && bucket <= incident.toBucket,
        );
        const share = active ? strength.get(active)! : 0;
        if (active?.kind === 'silence') continue;
        let mean = service.perBucket * cycle * Math.exp(0.1 * (next() - 0.5));
        if (active?.kind === 'spike') mean *= 3 + 4 * share;
        if (active?.kind === 'drop') mean *= 0.1 + 0.2 * share;
        const count = poisson(mean, next);
        const stamp = BigInt(bucketStartMs + bucketMs / 2) * 1_000_000n;
        const line = (body: string, patternId: string, severityNumber: number, attributes: Record<string, string>, lines: number) => {
          const record = newLogRecord({
            tenant: 'bench',
            serviceName: service.name,
            receiver: 'bench',
            body,
            severityNumber,
            attributes,
            patternId,
            timeUnixNano: stamp,
          });
          for (let i = 0; i < lines; i++) records.push(record);
        };
        // Split the bucket over routes, statuses and templates.
        const perRoute = new Map<string, { ok: number; failed: number }>(service.routes.map((route) => [route, { ok: 0, failed: 0 }]));
        for (let i = 0; i < count; i++) {
          const route = service.routes[Math.floor(next() * service.routes.length)];
          const errorShare = active?.kind === 'error_step' && active.route === route ? 0.1 + 0.15 * share : usualErrorShare;
          const counts = perRoute.get(route)!;
          if (next() < errorShare) counts.failed++;
          else counts.ok++;
        }
        for (const [route, { ok, failed }] of perRoute) {
          const perTemplate = new Array<number>(service.templates).fill(0);
          for (let i = 0; i < ok; i++) perTemplate[zipf(service.templates, next)]++;
          perTemplate.forEach((lines, t) => {
            if (lines > 0)
              line(
                `${service.name} template ${t} on ${route}`,
                `${service.name}-t${t}`,
                9,
                { 'http.route': route, 'http.response.status_code': '200' },
                lines,
              );
          });
          if (failed > 0)
            line(
              `${service.name} failed on ${route}`,
              `${service.name}-failed`,
              17,
              { 'http.route': route, 'http.response.status_code': '500' },
              failed,
            );
        }
        if (next() < 1 / benignNewTemplateEveryBuckets) {
          benignTemplates++;
          line(
            `${service.name} benign new message ${benignTemplates}`,
            `${service.name}-benign-${benignTemplates}`,
            9,
            {},
            between(next, 1, 3),
          );
        }
        if (active?.kind === 'new_template') {
          line(
            `${service.name} exception ${active.fromBucket}`,
            `${service.name}-exception-${active.fromBucket}`,
            17,
            {},
            between(next, 1, 3) + Math.round(10 * share),
          );
        }
      }
      return records;
    },
  };
}
