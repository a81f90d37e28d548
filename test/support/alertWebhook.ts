import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** One notification a webhook took: firing or resolved, for which service, under which fingerprint. */
export interface Notification {
  status: string;
  service: string;
  fingerprint: string;
}

/** A webhook receiver on loopback that keeps every notification it takes, in order. */
export async function startAlertWebhook(): Promise<{ server: Server; url: string; delivered: Notification[] }> {
  const delivered: Notification[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const parsed = JSON.parse(body);
      const alert = parsed.alerts[0];
      delivered.push({ status: parsed.status, service: alert.labels.service_name, fingerprint: alert.fingerprint });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, delivered };
}

/**
 * The `alerting:` config of a node with one rule group (`errors`, every 300 ms, for `tenant`): ServiceErrors fires
 * for a service with more than 2 lines holding "error" in the last `window`, notified to `webhookUrl`. The rule
 * file and the webhook secret are written into `dir`.
 */
export function serviceErrorsAlerting(dir: string, tenant: string, window: string, webhookUrl: string): string {
  writeFileSync(join(dir, 'webhook.secret'), 'cluster-webhook-secret\n');
  writeFileSync(
    join(dir, 'errors.rules.yaml'),
    `groups:
  - name: errors
    interval: 300ms
    tenant: ${tenant}
    rules:
      - alert: ServiceErrors
        expr: sum by (service_name) (count_over_time({service_name=~".+"} |= "error" [${window}])) > 2
`,
  );
  return `alerting:
  rules_files: [${JSON.stringify(join(dir, 'errors.rules.yaml'))}]
  webhooks:
    - url: ${webhookUrl}
      secret_file: ${JSON.stringify(join(dir, 'webhook.secret'))}
`;
}
