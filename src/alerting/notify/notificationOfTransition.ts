import type { AlertTransition } from '../../storage/stores/alertStore.js';
import type { AlertNotification } from './httpNotifier.js';

/**
 * The notification for an alert that fired or resolved (rules, detectors and
 * policy drift alike), none for one only pending; `endsAt` of a firing alert
 * is Alertmanager's zero time.
 */
export function notificationOfTransition(transition: AlertTransition): AlertNotification | undefined {
  if (transition.state === 'pending') return undefined;
  return {
    tenant: transition.tenant,
    fingerprint: transition.fingerprint,
    status: transition.state,
    labels: transition.labels,
    annotations: transition.annotations,
    startsAt: new Date(transition.activeAtMs).toISOString(),
    endsAt: transition.state === 'resolved' ? new Date(transition.atMs).toISOString() : '0001-01-01T00:00:00Z',
    value: transition.value,
  };
}
