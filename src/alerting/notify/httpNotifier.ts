import type { Logger } from 'pino';
import { receiverName, shownReceiverName } from './receiverName.js';
import type { NotificationAttempt } from '../../storage/stores/alertStore.js';

/** An alert as notifications carry it. */
export interface AlertNotification {
  tenant: string;
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  value: number;
}

/** A receiver's wire format: the request body and headers for one alert. */
export type NotificationFormat = (alert: AlertNotification) => { body: string; headers: Record<string, string> };

export interface DeliveryOptions {
  url: string;
  maxAttempts: number;
  initialBackoffMs: number;
  timeoutMs: number;
}

/** How a notification ended: taken, refused by the receiver (retrying will not help), or not reached (still owed). */
export type DeliveryOutcome = 'delivered' | 'refused' | 'unreachable';

/** Worth retrying: the receiver is down or overloaded, not refusing this request. */
function retryable(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

/**
 * Posts alerts to an HTTP receiver (webhook, Slack, PagerDuty) in its
 * format, retrying failures with exponential backoff; every attempt is
 * reported to `record`.
 */
export class HttpNotifier {
  constructor(
    readonly kind: string,
    private readonly options: DeliveryOptions,
    private readonly format: NotificationFormat,
    private readonly record: (attempt: NotificationAttempt) => Promise<void>,
    private readonly logger: Logger,
  ) {
    this.receiver = receiverName(kind, options.url);
  }

  /** Whether notifications owed under a stored name (today's, or one stored with the whole URL) are this receiver's. */
  isNamed(stored: string): boolean {
    return shownReceiverName(stored) === this.receiver;
  }

  /** The receiver's name in notification attempts and in what is owed (no credential of its URL). */
  readonly receiver: string;

  async send(alert: AlertNotification): Promise<DeliveryOutcome> {
    const { body, headers } = this.format(alert);
    let backoff = this.options.initialBackoffMs;
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      let status = 0;
      let error = '';
      try {
        const response = await fetch(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        status = response.status;
        await response.arrayBuffer();
        if (!response.ok) error = `HTTP ${status}`;
      } catch (failure) {
        error = (failure as Error).message;
      }
      await this.record({
        tenant: alert.tenant,
        fingerprint: alert.fingerprint,
        alertName: alert.labels.alertname ?? '',
        status: alert.status,
        receiver: this.receiver,
        attempt,
        httpStatus: status,
        error,
        atMs: Date.now(),
      }).catch((failure: unknown) => this.logger.error({ reason: (failure as Error).message }, 'could not record a notification attempt'));
      if (error === '') return 'delivered';
      if (!retryable(status) || attempt === this.options.maxAttempts) {
        this.logger.warn({ receiver: this.kind, attempt, reason: error }, 'alert notification failed');
        return retryable(status) ? 'unreachable' : 'refused';
      }
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff *= 2;
    }
    return 'unreachable';
  }
}
