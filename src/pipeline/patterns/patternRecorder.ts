import type { Logger } from 'pino';
import type { PatternsConfig } from '../pipelineConfig.js';
import type { PatternStore } from '../../storage/stores/patternStore.js';
import type { Stage } from '../ingestPipeline.js';
import { defaultMinerOptions } from './drainMiner.js';
import { PatternMining } from './patternMining.js';

/**
 * Pattern mining at ingest with its templates kept in storage: seeded from
 * the patterns table at start, written back every flush interval and at stop.
 */
export class PatternRecorder {
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly mining: PatternMining,
    private readonly store: PatternStore,
    private readonly logger: Logger,
    flushIntervalMs: number,
  ) {
    this.timer = setInterval(() => void this.flush(), flushIntervalMs);
    this.timer.unref();
  }

  static async open(config: PatternsConfig, store: PatternStore, logger: Logger): Promise<PatternRecorder> {
    const mining = new PatternMining({
      ...defaultMinerOptions,
      similarity: config.similarity,
      maxTemplates: config.max_templates_per_service,
    });
    const known = await store.all();
    mining.restore(known);
    logger.info({ templates: known.length }, 'log patterns restored');
    return new PatternRecorder(mining, store, logger, config.flush_interval_ms);
  }

  get stage(): Stage {
    return this.mining.stage;
  }

  templateOf(tenant: string, serviceName: string, patternId: string): string | undefined {
    return this.mining.templateOf(tenant, serviceName, patternId);
  }

  forget(tenant: string, patterns: { service_name: string; pattern_id: string }[]): void {
    this.mining.forget(tenant, patterns);
  }

  /** Writes what changed since the last flush; flushes never overlap. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const changes = this.mining.takeChanges();
      try {
        await this.store.upsert(changes);
      } catch (error) {
        this.logger.error({ reason: (error as Error).message, templates: changes.length }, 'could not store log patterns');
      }
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
