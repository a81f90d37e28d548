import type { Logger } from 'pino';
import type { LogRecord } from '../../model/logRecord.js';
import type { AlertStore, AlertTransition } from '../../storage/stores/alertStore.js';
import type { AlertNotification } from '../notify/httpNotifier.js';
import { AnomalyDetectors, type AnomalyFinding, type AnomalyOptions, type AnomalyOverride } from './anomalyDetectors.js';

export interface AnomalyMonitorDeps {
  /** Where committed records come from (the writer's onCommitted). */
  committed: (listener: (records: LogRecord[]) => void) => () => void;
  templateOf: (tenant: string, serviceName: string, patternId: string) => string | undefined;
  store: AlertStore;
  notify: (alert: AlertNotification) => void;
  logger: Logger;
}

interface OpenAnomaly {
  transition: AlertTransition;
}

function keyOf(finding: AnomalyFinding): string {
  return `${finding.tenant}\0${finding.serviceName}\0${finding.detector}\0${finding.patternId ?? ''}`;
}

/**
 * Runs the anomaly detectors over the committed stream, one bucket at a
 * time, and turns their findings into alerts: firing while a detector keeps
 * finding the anomaly, resolved at the first bucket it does not. Alerts go
 * to the same state table and notifiers as rule alerts (namespace `anomaly`).
 */
export class AnomalyMonitor {
  private readonly detectors: AnomalyDetectors;
  private readonly open = new Map<string, OpenAnomaly>();
  private readonly detach: () => void;
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> = Promise.resolve();

  constructor(
    options: AnomalyOptions,
    overrides: AnomalyOverride[],
    private readonly deps: AnomalyMonitorDeps,
  ) {
    this.detectors = new AnomalyDetectors(options, deps.templateOf, overrides);
    this.detach = deps.committed((records) => this.detectors.observe(records));
    this.timer = setInterval(() => {
      this.closing = this.closing.then(() => this.closeBucket(Date.now()));
    }, options.bucketMs);
    this.timer.unref();
  }

  private async closeBucket(nowMs: number): Promise<void> {
    const transitions: AlertTransition[] = [];
    const seen = new Set<string>();
    for (const finding of this.detectors.close(new Date(nowMs - 1).getUTCHours())) {
      const key = keyOf(finding);
      seen.add(key);
      if (this.open.has(key)) continue;
      const labels: Record<string, string> = {
        alertname: `Anomaly_${finding.detector}`,
        detector: finding.detector,
        service_name: finding.serviceName,
        criteria: finding.criteria,
        ...(finding.patternId ? { [finding.detector === 'unusual_destination' ? 'route' : 'pattern_id']: finding.patternId } : {}),
      };
      const transition: AlertTransition = {
        tenant: finding.tenant,
        namespace: 'anomaly',
        group: finding.detector,
        alertName: labels.alertname,
        fingerprint: key.replaceAll('\0', '/'),
        state: 'firing',
        labels,
        annotations: { summary: `${finding.detector.replaceAll('_', ' ')} in ${finding.serviceName}`, explanation: finding.explanation },
        value: finding.value,
        activeAtMs: nowMs,
        atMs: nowMs,
      };
      this.open.set(key, { transition });
      transitions.push(transition);
    }
    for (const [key, { transition }] of this.open) {
      if (seen.has(key)) continue;
      this.open.delete(key);
      transitions.push({ ...transition, state: 'resolved', atMs: nowMs });
    }
    if (transitions.length === 0) return;
    try {
      await this.deps.store.recordTransitions(transitions);
    } catch (error) {
      this.deps.logger.error({ reason: (error as Error).message }, 'could not store anomaly alerts');
    }
    for (const t of transitions) {
      this.deps.notify({
        tenant: t.tenant,
        fingerprint: t.fingerprint,
        status: t.state === 'resolved' ? 'resolved' : 'firing',
        labels: t.labels,
        annotations: t.annotations,
        startsAt: new Date(t.activeAtMs).toISOString(),
        endsAt: t.state === 'resolved' ? new Date(t.atMs).toISOString() : '0001-01-01T00:00:00Z',
        value: t.value,
      });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.detach();
    await this.closing;
  }
}
