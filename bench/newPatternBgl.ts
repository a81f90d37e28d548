/**
 * New-pattern alerts on Loghub's BGL 2k sample (labelled: alert lines vs
 * normal), mined by the ingest pattern miner and judged by the real
 * detectors. The sample spans 213 days with gaps of weeks (a service that
 * quiet is forgotten), so its lines are replayed in order, one every 6 s, in
 * buckets of a minute. The first 1,000 lines are
 * the baseline (new_pattern_warmup_lines); on the other 1,000 it prints the
 * line-level precision (alert lines among the lines of the templates
 * reported) and recall (alert lines reported among all alert lines) of
 * reporting every new template, and of the ranked new-pattern finding (only
 * templates of rarity ≥ 1, at most three listed per bucket).
 *
 *   npx tsc -p . && node dist/bench/newPatternBgl.js
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { AnomalyDetectors } from '../src/alerting/anomaly/anomalyDetectors.js';
import { newLogRecord } from '../src/model/logRecord.js';
import { defaultMinerOptions } from '../src/pipeline/patterns/drainMiner.js';
import { PatternMining } from '../src/pipeline/patterns/patternMining.js';
import { loghubDir } from '../test/support/loghub.js';

const bucketMs = 60_000;
const lineEveryMs = 6_000;
const startMs = Date.UTC(2026, 0, 5);
const baselineLines = 1000;
const severityOf: Record<string, number> = { FATAL: 21, SEVERE: 18, ERROR: 17, WARNING: 13, INFO: 9 };

const rows = parse(readFileSync(join(loghubDir, 'BGL', 'BGL_2k.log_structured.csv')), { columns: true }) as Record<string, string>[];
const mining = new PatternMining(defaultMinerOptions);
const detectors = new AnomalyDetectors(
  {
    bucketMs,
    latenessMs: 0,
    baselineBuckets: 60,
    warmupBuckets: 15,
    threshold: 6,
    minVolume: 20,
    minErrors: 5,
    silentBuckets: 5,
    newPatternWarmupLines: baselineLines,
  },
  (tenant, service, patternId) => mining.templateOf(tenant, service, patternId),
);

/** Lines per bucket and pattern, with how many of them are labelled alerts. */
const lines = new Map<string, { lines: number; alerts: number }>();
const known = new Set<string>();
const everyNew = { lines: 0, alerts: 0 };
const ranked = { lines: 0, alerts: 0, findings: 0 };
let evaluatedAlerts = 0;
let bucket = Math.floor(startMs / bucketMs);

function closeUpTo(lastBucket: number): void {
  for (; bucket < lastBucket; bucket++) {
    for (const finding of detectors.close((bucket + 1) * bucketMs)) {
      if (finding.detector !== 'new_pattern') continue;
      ranked.findings++;
      // The explanation lists at most three templates; the finding names the rarest, the others are found by their lines in this bucket.
      const listed = [...finding.explanation.matchAll(/"([^"]*)" \(rarity/g)].map((match) => match[1]);
      for (const [key, count] of lines) {
        const [inBucket, patternId] = key.split('\0');
        if (Number(inBucket) !== bucket || !listed.includes(mining.templateOf('bgl', 'bgl', patternId) ?? '')) continue;
        ranked.lines += count.lines;
        ranked.alerts += count.alerts;
      }
    }
  }
}

rows.forEach((row, i) => {
  const timeMs = startMs + i * lineEveryMs;
  closeUpTo(Math.floor(timeMs / bucketMs));
  const [record] = mining.stage([
    newLogRecord({
      tenant: 'bgl',
      serviceName: 'bgl',
      receiver: 'bench',
      body: row.Content,
      severityNumber: severityOf[row.Level] ?? 9,
      timeUnixNano: BigInt(timeMs) * 1_000_000n,
    }),
  ]);
  detectors.observe([record], timeMs);
  const alert = row.Label !== '-';
  if (i >= baselineLines) {
    if (alert) evaluatedAlerts++;
    if (!known.has(record.patternId!)) {
      everyNew.lines++;
      if (alert) everyNew.alerts++;
    }
    const key = `${bucket}\0${record.patternId}`;
    const count = lines.get(key) ?? { lines: 0, alerts: 0 };
    lines.set(key, { lines: count.lines + 1, alerts: count.alerts + (alert ? 1 : 0) });
  } else known.add(record.patternId!);
});
closeUpTo(bucket + 2);

const ratio = (a: number, b: number) => (b === 0 ? '—' : (a / b).toFixed(3));
console.log(
  `BGL 2k: baseline ${baselineLines} lines, ${rows.length - baselineLines} judged, ${evaluatedAlerts} of them alert lines; one line every 6 s, buckets of 60 s`,
);
console.log(
  `every new template:      ${everyNew.lines} lines reported, ${everyNew.alerts} alert lines: precision ${ratio(everyNew.alerts, everyNew.lines)}, recall ${ratio(everyNew.alerts, evaluatedAlerts)}`,
);
console.log(
  `ranked (rarity >= 1, top 3 per bucket, ${ranked.findings} findings): ${ranked.lines} lines reported, ${ranked.alerts} alert lines: precision ${ratio(ranked.alerts, ranked.lines)}, recall ${ratio(ranked.alerts, evaluatedAlerts)}`,
);
