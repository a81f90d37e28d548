import type { Stage } from '../ingestPipeline.js';
import type { PatternSummary } from '../../model/patternSummary.js';
import { DrainMiner, patternTemplate, type LogPattern, type MinerOptions } from './drainMiner.js';

// Mining looks at the start of a body only: a template is about the shape of a message, and a
// megabyte body would otherwise cost a megabyte of tokens.
const minedChars = 4096;

interface ServiceMiner {
  tenant: string;
  serviceName: string;
  miner: DrainMiner;
  /** Patterns matched since the last flush, with when they were last matched. */
  touched: Map<LogPattern, number>;
}

/**
 * One miner per tenant and service, fed at ingest: its stage stamps every
 * record with the id of its template, and what changed since the last look
 * is handed to storage by `takeChanges`.
 */
export class PatternMining {
  private readonly miners = new Map<string, ServiceMiner>();
  // Keyed by the pattern object, so forgotten (evicted) patterns leave with it.
  private readonly firstSeen = new WeakMap<LogPattern, number>();

  constructor(
    private readonly options: MinerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  readonly stage: Stage = (records) => {
    const now = this.now();
    for (const record of records) {
      const service = this.minerOf(record.tenant, record.serviceName);
      const pattern = service.miner.add(record.body.length > minedChars ? record.body.slice(0, minedChars) : record.body);
      if (!this.firstSeen.has(pattern)) this.firstSeen.set(pattern, now);
      service.touched.set(pattern, now);
      record.patternId = pattern.id;
    }
    return records;
  };

  /** Templates learnt before a restart, so ids, counts and first sightings carry on. */
  restore(summaries: PatternSummary[]): void {
    for (const summary of summaries) {
      const pattern = this.minerOf(summary.tenant, summary.serviceName).miner.restore(summary.patternId, summary.template, summary.count);
      this.firstSeen.set(pattern, summary.firstSeenMs);
    }
  }

  /** The current template of a pattern, if this process knows it. */
  templateOf(tenant: string, serviceName: string, patternId: string): string | undefined {
    const pattern = this.miners.get(`${tenant}\0${serviceName}`)?.miner.pattern(patternId);
    return pattern && patternTemplate(pattern);
  }

  /** Drops templates whose records were erased, so they are neither matched nor written back. */
  forget(tenant: string, patterns: { service_name: string; pattern_id: string }[]): void {
    for (const { service_name, pattern_id } of patterns) {
      const service = this.miners.get(`${tenant}\0${service_name}`);
      const pattern = service?.miner.forget(pattern_id);
      if (pattern) service!.touched.delete(pattern);
    }
  }

  /** Every pattern matched since the previous call, in its current form. */
  takeChanges(): PatternSummary[] {
    const changes: PatternSummary[] = [];
    for (const service of this.miners.values()) {
      for (const [pattern, lastSeenMs] of service.touched) {
        changes.push({
          tenant: service.tenant,
          serviceName: service.serviceName,
          patternId: pattern.id,
          template: patternTemplate(pattern),
          firstSeenMs: this.firstSeen.get(pattern) ?? lastSeenMs,
          lastSeenMs,
          count: pattern.count,
        });
      }
      service.touched.clear();
    }
    return changes;
  }

  private minerOf(tenant: string, serviceName: string): ServiceMiner {
    const key = `${tenant}\0${serviceName}`;
    let service = this.miners.get(key);
    if (!service) {
      service = { tenant, serviceName, miner: new DrainMiner(key, this.options), touched: new Map() };
      this.miners.set(key, service);
    }
    return service;
  }
}
