import { createHmac } from 'node:crypto';
import type { AlertNotification, NotificationFormat } from './httpNotifier.js';

export const signatureHeader = 'x-meshlog-signature';

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function summary(alert: AlertNotification): string {
  return alert.annotations.summary || alert.labels.alertname || 'meshlog alert';
}

/** Alertmanager's webhook JSON (version 4), signed with HMAC-SHA256 of the body. */
export function signedWebhook(secret: string, receiver: string): NotificationFormat {
  return (alert) => {
    const body = JSON.stringify({
      version: '4',
      receiver,
      status: alert.status,
      tenant: alert.tenant,
      groupLabels: { alertname: alert.labels.alertname ?? '' },
      alerts: [
        {
          status: alert.status,
          labels: alert.labels,
          annotations: alert.annotations,
          startsAt: alert.startsAt,
          endsAt: alert.endsAt,
          fingerprint: alert.fingerprint,
          value: alert.value,
        },
      ],
    });
    return { body, headers: { [signatureHeader]: signature(secret, body) } };
  };
}

/** A Slack incoming-webhook message: one line of status and summary, then the labels and explanation. */
export const slackMessage: NotificationFormat = (alert) => {
  const labels = Object.entries(alert.labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join(', ');
  const details = [alert.annotations.explanation ?? alert.annotations.description, `tenant ${alert.tenant}; ${labels}`]
    .filter(Boolean)
    .join('\n');
  const text = `${alert.status === 'firing' ? ':rotating_light: FIRING' : ':white_check_mark: RESOLVED'}: ${summary(alert)}\n${details}`;
  return { body: JSON.stringify({ text }), headers: {} };
};

/** A PagerDuty Events API v2 event: trigger while firing, resolve after; the fingerprint deduplicates. */
export function pagerDutyEvent(routingKey: string): NotificationFormat {
  return (alert) => ({
    body: JSON.stringify({
      routing_key: routingKey,
      event_action: alert.status === 'firing' ? 'trigger' : 'resolve',
      dedup_key: `${alert.tenant}/${alert.fingerprint}`,
      payload: {
        summary: summary(alert).slice(0, 1024),
        source: `meshlog tenant ${alert.tenant}`,
        severity: ['critical', 'error', 'warning', 'info'].includes(alert.labels.severity ?? '') ? alert.labels.severity : 'error',
        timestamp: alert.startsAt,
        custom_details: { labels: alert.labels, annotations: alert.annotations, value: alert.value },
      },
    }),
    headers: {},
  });
}
