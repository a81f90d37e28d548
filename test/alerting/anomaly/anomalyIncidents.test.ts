import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnomalyDetectors, type AnomalyOptions } from '../../../src/alerting/anomaly/anomalyDetectors.js';
import { AnomalyIncidents } from '../../../src/alerting/anomaly/anomalyIncidents.js';
import { newLogRecord, type LogRecord } from '../../../src/model/logRecord.js';
import type { AlertTransition } from '../../../src/storage/stores/alertStore.js';
import { defaultMinerOptions } from '../../../src/pipeline/patterns/drainMiner.js';
import { PatternMining } from '../../../src/pipeline/patterns/patternMining.js';

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
const dayZeroMs = Date.UTC(2026, 0, 5);

/** `count` lines of one template from `service`, stamped across the bucket. */
function heartbeat(service: string, count: number, startMs: number): LogRecord[] {
  return Array.from({ length: count }, (_, i) =>
    newLogRecord({
      tenant: 'acme',
      serviceName: service,
      receiver: 'test',
      severityNumber: 9,
      body: `heartbeat ${i} from worker ${i % 7}`,
      timeUnixNano: BigInt(startMs + Math.floor((i * options.bucketMs) / count)) * 1_000_000n,
    }),
  );
}

/** Runs a per-bucket count of one single-template service through miner, detectors and incidents; returns the alert changes. */
function incidentsOf(counts: number[], resolveAfterBuckets: number): AlertTransition[] {
  const mining = new PatternMining(defaultMinerOptions);
  const detectors = new AnomalyDetectors(options);
  const incidents = new AnomalyIncidents(resolveAfterBuckets);
  const transitions: AlertTransition[] = [];
  counts.forEach((count, bucket) => {
    const startMs = dayZeroMs + bucket * options.bucketMs;
    detectors.observe(mining.stage(heartbeat('ticker', count, startMs)), startMs + options.bucketMs - 1);
    for (const closed of detectors.closeBuckets(startMs + options.bucketMs))
      transitions.push(...incidents.update(closed.findings, startMs + options.bucketMs));
  });
  return transitions;
}

const steady = (buckets: number) => Array.from({ length: buckets }, (_, i) => 100 + ((i * 7) % 11) - 5);

test('an anomaly that wobbles (spike, quiet, spike, quiet) is one incident: one firing notification, one resolution', () => {
  const wobbling = [...steady(20), 1000, 100, 1000, 98, 1000, 102, 1000, ...steady(6)];
  const changes = incidentsOf(wobbling, 3);
  assert.deepEqual(
    changes.map((t) => t.state),
    ['firing', 'resolved'],
  );
  // It resolves three quiet buckets after the last spike, not at the first quiet bucket.
  assert.equal(changes[1].atMs - changes[0].atMs, 9 * options.bucketMs);
  // Resolving at the first quiet bucket (as before) pages four times for the same incident.
  assert.deepEqual(incidentsOf(wobbling, 1).filter((t) => t.state === 'firing').length, 4);
});

test('a spike on a single-template service is one alert: the volume spike and the pattern surge it causes are correlated', () => {
  const changes = incidentsOf([...steady(20), 1000, ...steady(5)], 3);
  assert.deepEqual(
    changes.map((t) => t.state),
    ['firing', 'resolved'],
  );
  const [firing] = changes;
  assert.equal(firing.labels.detector, 'volume_spike');
  assert.equal(firing.labels.detectors, 'volume_spike,pattern_surge', 'both detectors found it');
  assert.equal(firing.fingerprint, 'acme/ticker');
  assert.match(firing.annotations.summary, /^volume spike in ticker \(with pattern surge\)$/);
  assert.match(firing.annotations.explanation, /^1000 records in the last 60s, typical 10\d/);
  assert.match(firing.annotations.correlated, /^log pattern .*: 1000 lines in the last 60s/);
});

test('findings of different services are separate incidents', () => {
  const incidents = new AnomalyIncidents(3);
  const finding = (serviceName: string) => ({
    detector: 'volume_spike' as const,
    tenant: 'acme',
    serviceName,
    value: 1000,
    baseline: 100,
    explanation: 'x',
    criteria: 'CC7.2',
  });
  const changes = incidents.update([finding('a'), finding('b'), finding('a')], dayZeroMs);
  assert.deepEqual(
    changes.map((t) => [t.fingerprint, t.state]),
    [
      ['acme/a', 'firing'],
      ['acme/b', 'firing'],
    ],
  );
});

test('a graver cause joining an open incident is sent again under the same fingerprint: a silent service is never hidden behind a new-pattern alert', () => {
  const incidents = new AnomalyIncidents(3);
  const finding = (detector: 'new_pattern' | 'silent_service' | 'pattern_surge') => ({
    detector,
    tenant: 'acme',
    serviceName: 'billing',
    value: 0,
    baseline: 0,
    explanation: detector,
    criteria: 'CC7.2',
  });
  const opened = incidents.update([finding('new_pattern')], dayZeroMs);
  const escalated = incidents.update([finding('silent_service')], dayZeroMs + 60_000);
  const joined = incidents.update([finding('pattern_surge')], dayZeroMs + 120_000);
  assert.deepEqual(
    [...opened, ...escalated, ...joined].map((t) => [t.fingerprint, t.state, t.labels.detector]),
    [
      ['acme/billing', 'firing', 'new_pattern'],
      ['acme/billing', 'firing', 'silent_service'],
    ],
  );
  assert.equal(escalated[0].activeAtMs, dayZeroMs, 'the same incident, active since the first finding');
  assert.equal(escalated[0].annotations.summary, 'silent service in billing (with new pattern)');
});
