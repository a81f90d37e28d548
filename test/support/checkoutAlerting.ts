import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a test's alerting server is configured with besides the `checkout` rule group. */
export interface CheckoutAlerting {
  /** The group's rules: YAML list items under `rules:` (indented six spaces). */
  rules: string;
  /** A signed webhook: its URL, the secret written beside the config, and more of its keys (max_attempts…). */
  webhook?: { url: string; secret: string; options?: Record<string, number> };
  /** More lines of the alerting section (slack, pagerduty, anomaly…), indented two spaces. */
  alerting?: string;
  /** The config's other sections (tls, retention, masking…). */
  sections?: string;
}

/**
 * Writes into `dir` a meshlog config whose alerting evaluates one rule group,
 * `checkout` of tenant acme every 300 ms (in `checkout.rules.yaml`), and
 * notifies the webhook if one is given; returns the config file's path.
 */
export function writeCheckoutAlertingConfig(dir: string, config: CheckoutAlerting): string {
  const rulesFile = join(dir, 'checkout.rules.yaml');
  writeFileSync(rulesFile, `groups:\n  - name: checkout\n    interval: 300ms\n    tenant: acme\n    rules:\n${config.rules}`);
  const lines = ['alerting:', `  rules_files: [${JSON.stringify(rulesFile)}]`];
  if (config.webhook) {
    const secretFile = join(dir, 'webhook.secret');
    writeFileSync(secretFile, `${config.webhook.secret}\n`);
    const options = Object.entries(config.webhook.options ?? {}).map(([key, value]) => `, ${key}: ${value}`);
    lines.push(
      '  webhooks:',
      `    - { url: ${JSON.stringify(config.webhook.url)}, secret_file: ${JSON.stringify(secretFile)}${options.join('')} }`,
    );
  }
  if (config.alerting) lines.push(config.alerting.trimEnd());
  if (config.sections) lines.push(config.sections.trimEnd());
  const configFile = join(dir, 'meshlog.yaml');
  writeFileSync(configFile, `${lines.join('\n')}\n`);
  return configFile;
}
