import type { ReadMasker } from '../../query/readMasking.js';
import type { AlertNotification } from './httpNotifier.js';

/**
 * An alert as a receiver gets it. Whoever reads a Slack channel or a page
 * holds no `unmasker` role, so sensitive labels and what annotations repeat
 * of them (`{{ $labels.user_id }}`) are masked, as the alert API masks them
 * for a reader without it. The stored alert (silences match it) is untouched.
 */
export function maskedNotification(masker: ReadMasker, alert: AlertNotification): AlertNotification {
  const stream = { stream: { ...alert.labels }, values: Object.entries(alert.annotations) };
  masker.maskStream(stream);
  return { ...alert, labels: stream.stream, annotations: Object.fromEntries(stream.values) };
}
