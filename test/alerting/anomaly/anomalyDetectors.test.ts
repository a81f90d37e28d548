import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AnomalyDetectors,
  type AnomalyFinding,
  type AnomalyOptions,
  type AnomalyOverride,
} from '../../../src/alerting/anomaly/anomalyDetectors.js';
import { emptyMeshFields, newLogRecord, type LogRecord } from '../../../src/model/logRecord.js';
import { PatternMining } from '../../../src/pipeline/patterns/patternMining.js';
import { defaultMinerOptions } from '../../../src/pipeline/patterns/drainMiner.js';

const options: AnomalyOptions = {
  bucketMs: 60_000,
  latenessMs: 0,
  baselineBuckets: 30,
  warmupBuckets: 10,
  threshold: 6,
  minVolume: 20,
  minErrors: 5,
  silentBuckets: 3,
  newPatternWarmupLines: 1000,
};

/** Midnight UTC of the first simulated day. */
const dayZeroMs = Date.UTC(2026, 0, 5);

/** Stamps records across the bucket starting at `startMs`, as a shipper would have. */
function stamped(records: LogRecord[], startMs: number, bucketMs: number): LogRecord[] {
  records.forEach((record, i) => (record.timeUnixNano = BigInt(startMs + Math.floor((i * bucketMs) / records.length)) * 1_000_000n));
  return records;
}

/** Deterministic pseudo-random numbers (mulberry32), so every run sees the same traffic. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Incident = 'error_burst' | 'traffic_drop' | 'new_exception' | 'forbidden_storm' | 'unusual_destination';

/**
 * A bucket of traffic from three services: checkout (app logs, ~1% errors),
 * payments (app logs) and a mesh gateway (access logs, a few 401/403),
 * with `incident` injected from bucket `from` on.
 */
function bucketTraffic(bucket: number, next: () => number, incident?: Incident, from = Infinity): LogRecord[] {
  const records: LogRecord[] = [];
  const jitter = () => Math.round((next() - 0.5) * 40);
  const during = bucket >= from;
  const app = (service: string, count: number, errorShare: number) => {
    for (let i = 0; i < count; i++) {
      const n = Math.floor(next() * 100_000);
      if (next() < errorShare) {
        records.push(
          newLogRecord({
            tenant: 'acme',
            serviceName: service,
            receiver: 'test',
            severityNumber: 17,
            severityText: 'ERROR',
            body: `payment provider timeout after ${n % 5000}ms for order ${n}`,
          }),
        );
      } else {
        const bodies = [
          `order ${n} accepted for user ${n % 977}`,
          `cart ${n} priced at ${n % 300}.99 EUR`,
          `inventory reserved for sku ${n % 5000} qty ${(n % 4) + 1}`,
        ];
        records.push(newLogRecord({ tenant: 'acme', serviceName: service, receiver: 'test', severityNumber: 9, body: bodies[n % 3] }));
      }
    }
  };
  app('checkout', 200 + jitter(), during && incident === 'error_burst' ? 0.3 : 0.01);
  if (!(during && incident === 'traffic_drop')) app('payments', 100 + jitter(), 0.01);
  if (during && incident === 'new_exception') {
    for (let i = 0; i < 8; i++) {
      records.push(
        newLogRecord({
          tenant: 'acme',
          serviceName: 'checkout',
          receiver: 'test',
          severityNumber: 17,
          body: `java.lang.IllegalStateException: connection pool exhausted (active=${50 + i}, waiting=${i * 3})`,
        }),
      );
    }
  }
  const gateway = 300 + jitter();
  for (let i = 0; i < gateway; i++) {
    const forbidden = during && incident === 'forbidden_storm' ? next() < 0.3 : next() < 0.005;
    const status = forbidden ? (next() < 0.5 ? 401 : 403) : 200;
    const n = Math.floor(next() * 100_000);
    const destination = during && incident === 'unusual_destination' && i === 0 ? 'billing-db' : ['checkout', 'payments'][n % 2];
    records.push(
      newLogRecord({
        tenant: 'acme',
        serviceName: 'gateway',
        receiver: 'test',
        body: `"GET /api/items/${n} HTTP/1.1" ${status} ${n % 9000}`,
        mesh: { ...emptyMeshFields(), responseCode: status, sourceWorkload: 'gateway', destinationWorkload: destination },
      }),
    );
  }
  return records;
}

/** Runs buckets through the ingest miner and the detectors; returns the findings per bucket. */
function run(buckets: number, incident?: Incident, from = Infinity, overrides: AnomalyOverride[] = []): Map<number, AnomalyFinding[]> {
  const mining = new PatternMining(defaultMinerOptions);
  const templates = new Map<string, string>();
  const detectors = new AnomalyDetectors(options, (_tenant, _service, id) => templates.get(id), overrides);
  const next = random(7);
  const findings = new Map<number, AnomalyFinding[]>();
  for (let bucket = 0; bucket < buckets; bucket++) {
    const startMs = dayZeroMs + bucket * options.bucketMs;
    const records = mining.stage(stamped(bucketTraffic(bucket, next, incident, from), startMs, options.bucketMs));
    for (const change of mining.takeChanges()) templates.set(change.patternId, change.template);
    detectors.observe(records, startMs + options.bucketMs - 1);
    const found = detectors.close(startMs + options.bucketMs);
    if (found.length > 0) findings.set(bucket, found);
  }
  return findings;
}

test('clean traffic raises nothing over 80 buckets', () => {
  assert.deepEqual([...run(80)], []);
});

test('an error burst is found in the bucket it starts, with the rate and its baseline in the explanation', () => {
  const findings = run(45, 'error_burst', 40);
  const first = findings.get(40)?.find((f) => f.detector === 'error_rate');
  assert.ok(first, JSON.stringify([...findings]));
  assert.equal(first.serviceName, 'checkout');
  assert.match(first.explanation, /^error rate 2\d\.\d% \(\d+ of \d+\) in the last 60s, typical 1\.\d%/);
  assert.equal(
    [...findings.keys()].some((bucket) => bucket < 40),
    false,
  );
});

test('a service whose traffic drops to zero is reported silent after the configured number of empty buckets, for as long as it stays silent', () => {
  // 40 buckets of silence: longer than the 30-bucket baseline, so the history is all empty by the end.
  const findings = run(80, 'traffic_drop', 40);
  const silentAt = [...findings]
    .filter(([, found]) => found.some((f) => f.detector === 'silent_service' && f.serviceName === 'payments'))
    .map(([bucket]) => bucket);
  assert.equal(silentAt[0], 40 + options.silentBuckets - 1);
  assert.match(
    findings.get(silentAt[0])!.find((f) => f.detector === 'silent_service')!.explanation,
    /no records for 3 buckets of 60s; it used to send a median of \d+/,
  );
  assert.deepEqual(
    silentAt,
    Array.from({ length: 80 - silentAt[0] }, (_, i) => silentAt[0] + i),
    'reported in every bucket while it stays silent',
  );
});

test('a new exception pattern is reported once, with its template', () => {
  const findings = run(45, 'new_exception', 40);
  const fresh = [...findings].flatMap(([bucket, found]) => found.filter((f) => f.detector === 'new_pattern').map((f) => ({ bucket, f })));
  assert.equal(fresh.length, 1, JSON.stringify(fresh));
  assert.equal(fresh[0].bucket, 40);
  assert.match(
    fresh[0].f.explanation,
    /^log pattern never seen from this service before, rarest first: "<\*> connection pool exhausted \(active=<\*> waiting=<\*>" \(rarity 2, 8 lines\)/,
  );
});

test('a 401/403 storm on the mesh gateway is an access-denied spike', () => {
  const findings = run(42, 'forbidden_storm', 40);
  const spike = findings.get(40)?.find((f) => f.detector === 'access_denied_spike');
  assert.ok(spike, JSON.stringify([...findings]));
  assert.equal(spike.serviceName, 'gateway');
  assert.ok(spike.value > 50);
  assert.equal(spike.criteria, 'CC6.1, CC7.2');
});

test('detectors are configured per tenant and service: the most specific override wins', () => {
  const overrides: AnomalyOverride[] = [
    { tenant: 'acme', enabled: false },
    { tenant: 'acme', serviceName: 'gateway', enabled: true },
  ];
  const findings = run(42, 'forbidden_storm', 40, overrides);
  assert.ok(findings.get(40)?.some((f) => f.detector === 'access_denied_spike' && f.serviceName === 'gateway'));
  assert.deepEqual([...run(45, 'error_burst', 40, overrides)], []);
  // A stricter threshold for checkout alone hides its burst; the default still applies elsewhere.
  assert.ok(
    !run(45, 'error_burst', 40, [{ serviceName: 'checkout', threshold: 1000 }])
      .get(40)
      ?.some((f) => f.detector === 'error_rate'),
  );
});

test('a mesh request to a destination the source never called is an unusual destination', () => {
  const findings = run(42, 'unusual_destination', 40);
  const unusual = [...findings].flatMap(([bucket, found]) =>
    found.filter((f) => f.detector === 'unusual_destination').map((f) => ({ bucket, f })),
  );
  assert.deepEqual(
    unusual.map(({ bucket, f }) => [bucket, f.serviceName, f.patternId]),
    [[40, 'gateway', 'gateway → billing-db']],
  );
  assert.match(unusual[0].f.explanation, /^mesh requests gateway → billing-db never seen before: 1 in the last 60s/);
});

test('volume is judged against the same hour of earlier days: the daily cycle is normal, a midday drop is not', () => {
  const hourly: AnomalyOptions = { ...options, bucketMs: 3_600_000, baselineBuckets: 24, warmupBuckets: 24 };
  const next = random(11);
  // Quiet nights (20 an hour), busy days (400 an hour from 08:00 to 20:00).
  const traffic = (hour: number) => (hour >= 8 && hour < 20 ? 400 : 20) + Math.round((next() - 0.5) * 20);
  const judge = (dropOnDay: number) => {
    const detectors = new AnomalyDetectors(hourly);
    const found: { day: number; hour: number; f: AnomalyFinding }[] = [];
    for (let day = 0; day < 10; day++) {
      for (let hour = 0; hour < 24; hour++) {
        const count = day === dropOnDay && hour === 13 ? 150 : traffic(hour);
        const startMs = dayZeroMs + (day * 24 + hour) * hourly.bucketMs;
        detectors.observe(
          stamped(
            Array.from({ length: count }, () =>
              newLogRecord({ tenant: 'acme', serviceName: 'shop', receiver: 'test', body: 'order placed' }),
            ),
            startMs,
            hourly.bucketMs,
          ),
          startMs + hourly.bucketMs - 1,
        );
        for (const f of detectors.close(startMs + hourly.bucketMs)) if (f.detector.startsWith('volume')) found.push({ day, hour, f });
      }
    }
    return found;
  };
  assert.deepEqual(judge(-1), []);
  const drop = judge(9);
  assert.deepEqual(
    drop.map(({ day, hour, f }) => [day, hour, f.detector]),
    [[9, 13, 'volume_drop']],
  );
  assert.match(drop[0].f.explanation, /^150 records in the last 3600s, typical 40\d \(median of 9 buckets at this hour of earlier days\)/);
});

test('a shipper catching up with records stamped a day ago raises no spike: late records are counted apart, never judged', () => {
  const mining = new PatternMining(defaultMinerOptions);
  const detectors = new AnomalyDetectors({ ...options, latenessMs: 30_000 });
  const next = random(3);
  const found: AnomalyFinding[] = [];
  let lateBacklog = 0;
  for (let bucket = 0; bucket < 60; bucket++) {
    const startMs = dayZeroMs + 86_400_000 + bucket * options.bucketMs;
    const records = stamped(bucketTraffic(bucket, next), startMs, options.bucketMs);
    if (bucket === 45) {
      // The backlog of an outage a day ago, 1,000 lines of one template, arriving all at once.
      const backlog = stamped(
        Array.from({ length: 1000 }, (_, i) =>
          newLogRecord({
            tenant: 'acme',
            serviceName: 'checkout',
            receiver: 'test',
            severityNumber: 9,
            body: `order ${i} accepted for user ${i % 977}`,
          }),
        ),
        startMs - 86_400_000,
        options.bucketMs,
      );
      records.push(...backlog);
      lateBacklog = backlog.length;
    }
    // Records of this bucket arrive during it and a little after it (within the lateness allowance).
    detectors.observe(mining.stage(records), startMs + options.bucketMs + 10_000);
    found.push(...detectors.close(startMs + options.bucketMs + 10_000));
  }
  assert.deepEqual(
    found.map((f) => `${f.detector} ${f.serviceName}`),
    [],
  );
  assert.equal(detectors.lateRecords, lateBacklog);
});

test('records that arrive within the lateness allowance count in the bucket of their timestamp, not of their arrival', () => {
  const detectors = new AnomalyDetectors({ ...options, latenessMs: 30_000, warmupBuckets: 0 });
  const line = (startMs: number, count: number) =>
    stamped(
      Array.from({ length: count }, () => newLogRecord({ tenant: 'acme', serviceName: 'shop', receiver: 'test', body: 'order placed' })),
      startMs,
      options.bucketMs,
    );
  // A spike of bucket 0, delivered 20 s after it ended: within the allowance, so bucket 0 holds it when it closes.
  detectors.observe(line(dayZeroMs, 50), dayZeroMs + options.bucketMs + 20_000);
  assert.deepEqual(detectors.close(dayZeroMs + options.bucketMs + 20_000), [], 'bucket 0 is still open for late records');
  detectors.observe(line(dayZeroMs + options.bucketMs, 30), dayZeroMs + options.bucketMs + 25_000);
  detectors.close(dayZeroMs + options.bucketMs + 30_000);
  assert.equal(detectors.lateRecords, 0);
  // Now bucket 0 is closed: one more record stamped in it is late.
  detectors.observe(line(dayZeroMs, 1), dayZeroMs + options.bucketMs + 31_000);
  assert.equal(detectors.lateRecords, 1);
});

test('the same-hour baseline is built from earlier days only: a drop that lasts the whole hour is reported in every bucket of it', () => {
  // Minute buckets; the service sends ~100 a minute all day, for three days. On day 3 it drops to 20 a minute from 13:00 to 14:00.
  const minute: AnomalyOptions = { ...options, baselineBuckets: 60, warmupBuckets: 10 };
  const detectors = new AnomalyDetectors(minute);
  const next = random(5);
  const dropAt: number[] = [];
  for (let m = 0; m < 3 * 1440 + 14 * 60; m++) {
    const startMs = dayZeroMs + m * minute.bucketMs;
    const dropping = m >= 3 * 1440 + 13 * 60;
    const count = dropping ? 20 : 100 + Math.round((next() - 0.5) * 10);
    detectors.observe(
      stamped(
        Array.from({ length: count }, () => newLogRecord({ tenant: 'acme', serviceName: 'shop', receiver: 'test', body: 'order placed' })),
        startMs,
        minute.bucketMs,
      ),
      startMs + minute.bucketMs - 1,
    );
    for (const f of detectors.close(startMs + minute.bucketMs)) {
      assert.ok(dropping, `nothing before the drop, found ${f.detector} at minute ${m}`);
      if (f.detector === 'volume_drop') dropAt.push(m - (3 * 1440 + 13 * 60));
    }
  }
  // Today's low buckets of 13:00 never become the baseline of 13:00 (three of them sufficed before).
  assert.deepEqual(
    dropAt,
    Array.from({ length: 60 }, (_, i) => i),
  );
});

/** Runs `buckets` of requests through the detectors and returns the error-rate findings with their bucket. */
function errorRateFindings(buckets: number, traffic: (bucket: number, next: () => number) => LogRecord[], seed: number) {
  const detectors = new AnomalyDetectors(options);
  const next = random(seed);
  const found: { bucket: number; f: AnomalyFinding }[] = [];
  for (let bucket = 0; bucket < buckets; bucket++) {
    const startMs = dayZeroMs + bucket * options.bucketMs;
    detectors.observe(stamped(traffic(bucket, next), startMs, options.bucketMs), startMs + options.bucketMs - 1);
    for (const f of detectors.close(startMs + options.bucketMs)) if (f.detector === 'error_rate') found.push({ bucket, f });
  }
  return found;
}

test('five routes of a mesh gateway going from 1% to 20% 5xx are each caught on their route within twelve buckets, over six seeds, with no alarm before', () => {
  const routes = Array.from({ length: 20 }, (_, i) => `svc-${i}`);
  // 15 requests a bucket on each of 20 routes; from bucket 40 the first five fail 20% of the time.
  const traffic = (bucket: number, next: () => number) =>
    routes.flatMap((route, r) =>
      Array.from({ length: 15 }, () => {
        const status = next() < (bucket >= 40 && r < 5 ? 0.2 : 0.01) ? 503 : 200;
        return newLogRecord({
          tenant: 'acme',
          serviceName: 'gateway',
          receiver: 'test',
          body: `"GET /${route} HTTP/1.1" ${status}`,
          mesh: { ...emptyMeshFields(), responseCode: status, sourceWorkload: 'gateway', destinationWorkload: route },
        });
      }),
    );
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const found = errorRateFindings(52, traffic, seed);
    assert.deepEqual(
      found.filter(({ bucket }) => bucket < 40).map(({ bucket, f }) => [bucket, f.patternId]),
      [],
      `seed ${seed}: no alarm on 1% traffic`,
    );
    const caught = new Map<string, number>();
    for (const { bucket, f } of found) if (f.patternId && !caught.has(f.patternId)) caught.set(f.patternId, bucket);
    // The run ends twelve buckets after the step (15 requests a bucket per route: a few buckets of evidence are needed): every failing route was caught by then.
    assert.deepEqual([...caught.keys()].sort(), routes.slice(0, 5), `seed ${seed}: the five failing routes, and only them`);
  }
});

test('a whole service going from 1% to 5% errors is caught within four buckets, over six seeds, with no alarm before', () => {
  const traffic = (bucket: number, next: () => number) =>
    Array.from({ length: 300 }, (_, i) => {
      const failed = next() < (bucket >= 40 ? 0.05 : 0.01);
      return newLogRecord({
        tenant: 'acme',
        serviceName: 'checkout',
        receiver: 'test',
        severityNumber: failed ? 17 : 9,
        body: failed ? `payment failed for order ${i}` : `order ${i} accepted`,
      });
    });
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const found = errorRateFindings(48, traffic, seed);
    assert.ok(found.length > 0, `seed ${seed}: caught`);
    assert.ok(found[0].bucket >= 40 && found[0].bucket <= 43, `seed ${seed}: first found at bucket ${found[0].bucket}`);
    assert.match(found[0].f.explanation, /^error rate \d+\.\d% \(\d+ of \d+\) in the last \d+s, typical [01]\.\d%/);
  }
});

/** Runs one service through the detectors, `count(bucket)` records a bucket, and returns the volume findings with their bucket. */
function volumeFindings(buckets: number, count: (bucket: number, next: () => number) => number, seed: number) {
  const detectors = new AnomalyDetectors(options);
  const next = random(seed);
  const found: { bucket: number; detector: string }[] = [];
  for (let bucket = 0; bucket < buckets; bucket++) {
    const startMs = dayZeroMs + bucket * options.bucketMs;
    const records = Array.from({ length: count(bucket, next) }, () =>
      newLogRecord({ tenant: 'acme', serviceName: 'shop', receiver: 'test', body: 'order placed' }),
    );
    detectors.observe(stamped(records, startMs, options.bucketMs), startMs + options.bucketMs - 1);
    for (const f of detectors.close(startMs + options.bucketMs))
      if (f.detector.startsWith('volume') || f.detector === 'silent_service') found.push({ bucket, detector: f.detector });
  }
  return found;
}

const noisy = (mean: number, next: () => number) => Math.round(mean + (next() - 0.5) * 2 * Math.sqrt(mean));

test('a service that comes back after a silence longer than its baseline raises no spike: the outage is not its baseline', () => {
  // 30-bucket baseline; silent from bucket 40 to 79 (40 buckets), then back at its usual 100.
  const found = volumeFindings(110, (bucket, next) => (bucket >= 40 && bucket < 80 ? 0 : noisy(100, next)), 1);
  assert.deepEqual(
    found.filter(({ detector }) => detector !== 'silent_service'),
    [],
  );
  assert.equal(found.filter(({ detector }) => detector === 'silent_service').length, 40 - options.silentBuckets + 1);
});

test('a service that comes back after a drop raises no spike: the buckets of the drop are left out of its baseline', () => {
  const found = volumeFindings(110, (bucket, next) => noisy(bucket >= 40 && bucket < 65 ? 15 : 100, next), 2);
  assert.deepEqual([...new Set(found.map(({ detector }) => detector))], ['volume_drop'], JSON.stringify(found));
  assert.ok(
    found.every(({ bucket }) => bucket >= 40 && bucket < 65),
    JSON.stringify(found),
  );
});

test('a small service (25 records a bucket) dropping to a fifth is caught within four buckets over six seeds, with no alarm before', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const found = volumeFindings(60, (bucket, next) => noisy(bucket >= 40 ? 5 : 25, next), seed);
    assert.deepEqual(
      found.filter(({ bucket }) => bucket < 40),
      [],
      `seed ${seed}: no alarm before the drop`,
    );
    const first = found.find(({ detector }) => detector === 'volume_drop');
    assert.ok(first && first.bucket < 44, `seed ${seed}: ${JSON.stringify(found)}`);
  }
});

test('a drop that wobbles around the threshold is one run of findings: once found, it holds while above half the threshold', () => {
  // 100 a bucket, then a drop to 38–50 a bucket (5 to 7 deviations) that a fixed threshold of 6 would find only now and then.
  const found = volumeFindings(90, (bucket, next) => (bucket >= 40 && bucket < 80 ? 38 + Math.round(next() * 12) : noisy(100, next)), 3);
  const drops = found.filter(({ detector }) => detector === 'volume_drop').map(({ bucket }) => bucket);
  assert.ok(drops.length > 0 && drops[0] < 44, JSON.stringify(drops));
  assert.deepEqual(
    drops,
    Array.from({ length: drops.length }, (_, i) => drops[0] + i),
    'no gap in the run',
  );
});

test('new templates are news only after the warm-up, and only the rare ones: an info variant of known words is not, an error or unseen words are, rarest first in one finding', () => {
  const detectors = new AnomalyDetectors({ ...options, newPatternWarmupLines: 500 }, (_tenant, _service, id) => id);
  const line = (patternId: string, severityNumber = 9) =>
    newLogRecord({ tenant: 'acme', serviceName: 'shop', receiver: 'test', body: patternId, patternId, severityNumber });
  const found: { bucket: number; f: AnomalyFinding }[] = [];
  for (let bucket = 0; bucket < 30; bucket++) {
    const startMs = dayZeroMs + bucket * options.bucketMs;
    const records = Array.from({ length: 40 }, () => line('order <*> placed for user <*>'));
    // Young service (400 lines by bucket 10): its first unusual templates are not news.
    if (bucket === 10) records.push(line('cache warmed in <*> ms'), line('disk quota exceeded on volume <*>', 17));
    if (bucket === 20)
      records.push(
        line('order <*> placed for guest <*>'),
        line('cache warmed for user <*>'),
        line('payment gateway rejected signature', 17),
        line('ledger replication lagging behind primary'),
      );
    detectors.observe(stamped(records, startMs, options.bucketMs), startMs + options.bucketMs - 1);
    for (const f of detectors.close(startMs + options.bucketMs)) if (f.detector === 'new_pattern') found.push({ bucket, f });
  }
  assert.deepEqual(
    found.map(({ bucket, f }) => [bucket, f.patternId]),
    [[20, 'payment gateway rejected signature']],
  );
  assert.equal(
    found[0].f.explanation,
    '2 log patterns never seen from this service before, rarest first: "payment gateway rejected signature" (rarity 2, 1 lines); "ledger replication lagging behind primary" (rarity 1, 1 lines) in the last 60s',
  );
});
