import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { NotificationAttempt } from '../../storage/alertStore.js';

/** An alert as notifications carry it (the Alertmanager webhook shape). */
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

export interface WebhookOptions {
  url: string;
  /** HMAC-SHA256 key; the signature goes in X-Meshlog-Signature as `sha256=<hex>`. */
  secret: string;
  maxAttempts: number;
  initialBackoffMs: number;
  timeoutMs: number;
}

export const signatureHeader = 'x-meshlog-signature';

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Worth retrying: the receiver is down or overloaded, not refusing this request. */
function retryable(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

/**
 * Posts alerts as signed JSON to a webhook, retrying failures with
 * exponential backoff; every attempt is reported to `record`.
 */
export class WebhookNotifier {
  constructor(
    private readonly options: WebhookOptions,
    private readonly record: (attempt: NotificationAttempt) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  get receiver(): string {
    return this.options.url;
  }

  async send(alert: AlertNotification): Promise<boolean> {
    const body = JSON.stringify({
      version: '4',
      receiver: this.options.url,
      status: alert.status,
      tenant: alert.tenant,
      groupLabels: { alertname: alert.labels.alertname ?? '' },
      alerts: [{ status: alert.status, labels: alert.labels, annotations: alert.annotations, startsAt: alert.startsAt, endsAt: alert.endsAt, fingerprint: alert.fingerprint, value: alert.value }],
    });
    const headers = { 'content-type': 'application/json', [signatureHeader]: signature(this.options.secret, body) };
    let backoff = this.options.initialBackoffMs;
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      let status = 0;
      let error = '';
      try {
        const response = await fetch(this.options.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.options.timeoutMs) });
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
        receiver: this.options.url,
        attempt,
        httpStatus: status,
        error,
        atMs: Date.now(),
      }).catch((failure: unknown) => this.logger.error({ reason: (failure as Error).message }, 'could not record a notification attempt'));
      if (error === '') return true;
      if (!retryable(status) || attempt === this.options.maxAttempts) {
        this.logger.warn({ receiver: this.options.url, attempt, reason: error }, 'alert notification failed');
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff *= 2;
    }
    return false;
  }
}
