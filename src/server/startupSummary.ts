import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { MeshlogConfig } from '../config/schema.js';
import { defaultWebRoot } from '../access/webUiRoutes.js';

/** What `meshlog start` tells a person once the server is ready. */
export interface StartupFacts {
  httpUrl: string;
  /** Bound `host:port` by listener name, as in the "meshlog is ready" line. */
  listeners: Record<string, string>;
  /** Where the bootstrap admin token is: MESHLOG_ADMIN_TOKEN, or its file. Never the token. */
  adminToken?: { fromEnv: true } | { fromEnv: false; file: string; generated: boolean };
  embedded: boolean;
}

const protocolsOn: Record<string, (config: MeshlogConfig) => { label: string; transport: string; tls: boolean; what: string }> = {
  forward: (config) => ({
    label: 'Fluentd forward',
    transport: 'TCP',
    tls: config.forward.tls !== undefined,
    what: 'Fluent Bit / Fluentd forward output',
  }),
  syslog_tcp: () => ({ label: 'syslog', transport: 'TCP', tls: false, what: 'RFC 5424 / 3164, octet-counted or line-framed' }),
  syslog_udp: () => ({ label: 'syslog', transport: 'UDP', tls: false, what: 'one message per datagram' }),
  syslog_tls: () => ({ label: 'syslog', transport: 'TCP', tls: true, what: 'RFC 5425' }),
  otlp_grpc: (config) => ({ label: 'OTLP/gRPC', transport: 'TCP', tls: config.otlp_grpc.tls !== undefined, what: 'logs and traces' }),
};

/**
 * The short, human start-up summary (stdout on a terminal, or --log-format
 * pretty): where the web UI is, which port takes which protocol (TLS or
 * not), where the admin token is (never the token), the data directory.
 */
export function startupSummary(config: MeshlogConfig, facts: StartupFacts): string {
  const httpTls = config.tls !== undefined;
  const base = facts.httpUrl.replace(/\/$/, '');
  const rows: [string, string][] = [];
  if (!config.ui.enabled) rows.push(['Web UI', 'off (ui.enabled: false)']);
  else if (!existsSync(join(defaultWebRoot, 'index.html'))) rows.push(['Web UI', `${base}/  (not built: run npm run build)`]);
  else rows.push(['Web UI', `${base}/`]);
  rows.push([
    'HTTP APIs',
    `${base}  ${httpTls ? 'TLS' : 'plaintext'}  Loki push/query, OTLP/HTTP, Elasticsearch _bulk, Splunk HEC, Datadog, Zipkin`,
  ]);
  for (const [name, address] of Object.entries(facts.listeners)) {
    const describe = protocolsOn[name];
    const about = describe ? describe(config) : { label: name, transport: 'TCP', tls: false, what: '' };
    rows.push([about.label, `${address} ${about.transport}  ${about.tls ? 'TLS' : 'plaintext'}${about.what ? `  ${about.what}` : ''}`]);
  }
  const token = facts.adminToken;
  if (config.auth === 'none') rows.push(['Auth', 'NONE (--auth=none): anyone who can reach these ports can read and write logs']);
  else if (!token || token.fromEnv) rows.push(['Admin token', 'from MESHLOG_ADMIN_TOKEN (not printed)']);
  else rows.push(['Admin token', `${token.file}  (${token.generated ? 'generated now, ' : ''}mode 0600, not printed)`]);
  rows.push([
    'Data dir',
    `${resolve(config.data_dir)}  (${facts.embedded ? 'embedded ClickHouse' : 'ClickHouse server; keys and tokens here'})`,
  ]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [`meshlog 0.1.0 is ready`, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)];
  if (config.auth === 'token' && token && !token.fromEnv) {
    lines.push('', `  Next: export MESHLOG_TOKEN=$(cat ${token.file}), then see docs/getting-started.md`);
  }
  return `${lines.join('\n')}\n`;
}
