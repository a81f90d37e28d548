import type { Logger } from 'pino';
import type { LogRecord } from '../../model/logRecord.js';
import type { AlertStore, AlertTransition } from '../../storage/stores/alertStore.js';
import type { AlertNotification } from '../notify/httpNotifier.js';
import { AnomalyDetectors, type AnomalyOptions, type AnomalyOverride } from './anomalyDetectors.js';
import { AnomalyIncidents } from './anomalyIncidents.js';
import { notificationOfTransition } from '../notify/notificationOfTransition.js';

export interface AnomalyMonitorDeps {
  /** Where committed records come from (the writer's onCommitted). */
  committed: (listener: (records: LogRecord[]) => void) => () => void;
  templateOf: (tenant: string, serviceName: string, patternId: string) => string | undefined;
  store: AlertStore;
  notify: (alert: AlertNotification) => void;
  logger: Logger;
}

/**
 * Runs the anomaly detectors over the committed stream, one bucket at a
 * time, and turns their findings into alerts, one incident per service
 * (see AnomalyIncidents). Alerts go to the same state table and notifiers
 * as rule alerts (namespace `anomaly`).
 */
export class AnomalyMonitor {
  private readonly detectors: AnomalyDetectors;
  private readonly incidents: AnomalyIncidents;
  private readonly detach: () => void;
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> = Promise.resolve();

  constructor(
    options: AnomalyOptions & { resolveAfterBuckets: number },
    overrides: AnomalyOverride[],
    private readonly deps: AnomalyMonitorDeps,
  ) {
    this.detectors = new AnomalyDetectors(options, deps.templateOf, overrides);
    this.incidents = new AnomalyIncidents(options.resolveAfterBuckets);
    this.detach = deps.committed((records) => this.detectors.observe(records, Date.now()));
    // Buckets close when the watermark passes them, whatever the phase of this timer.
    this.timer = setInterval(
      () => {
        this.closing = this.closing.then(() => this.closeBuckets(Date.now()));
      },
      Math.min(options.bucketMs, 1000),
    );
    this.timer.unref();
  }

  private async closeBuckets(nowMs: number): Promise<void> {
    const transitions = this.detectors.closeBuckets(nowMs).flatMap(({ findings }) => this.incidents.update(findings, nowMs));
    if (transitions.length === 0) return;
    try {
      await this.deps.store.recordTransitions(transitions);
    } catch (error) {
      this.deps.logger.error({ reason: (error as Error).message }, 'could not store anomaly alerts');
    }
    for (const t of transitions) {
      const notification = notificationOfTransition(t);
      if (notification) this.deps.notify(notification);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.detach();
    await this.closing;
  }
}
