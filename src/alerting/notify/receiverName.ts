import { createHash } from 'node:crypto';
import { redacted, scrubUrl } from '../../observability/credentialScrubber.js';

/** Receivers whose URL path is itself the credential (Slack: "your webhook URL contains a secret"). */
const secretPathKinds = new Set(['slack']);

function shownUrl(kind: string, url: string): string {
  if (!secretPathKinds.has(kind)) return scrubUrl(url);
  try {
    return `${new URL(url).origin}/${redacted}`;
  } catch {
    return redacted;
  }
}

/**
 * A receiver's name in notification attempts, in what is owed, in logs and in
 * reports, whose readers may not hold the receiver's credentials: its URL
 * without them, and a digest of the whole URL so that two receivers on one
 * host (two Slack channels) keep distinct, stable names.
 */
export function receiverName(kind: string, url: string): string {
  const digest = createHash('sha256').update(url).digest('hex').slice(0, 12);
  return `${kind} ${shownUrl(kind, url)} #${digest}`;
}

/** A stored receiver name as it is shown: names stored before they hid credentials were `<kind> <url>`. */
export function shownReceiverName(stored: string): string {
  const fullUrl = /^(webhook|slack|pagerduty) (\S+)$/.exec(stored);
  return fullUrl ? receiverName(fullUrl[1], fullUrl[2]) : stored;
}
