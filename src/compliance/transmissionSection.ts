import type { MeshlogConfig } from '../config/schema.js';
import { auditDetail } from './accessSection.js';
import type { ReportSection, SectionInput, SectionStatus } from './reportModel.js';

interface ListenerProtection {
  listener: string;
  address: string;
  tls: boolean;
  mtls: boolean;
  loopback: boolean;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** Every listener the configuration starts, with how its traffic is protected. */
function listenerProtection(config: MeshlogConfig): ListenerProtection[] {
  const entry = (
    listener: string,
    host: string | undefined,
    port: number,
    tls: { client_ca_file?: string } | undefined,
    alwaysPlain = false,
  ) => {
    const address = host ?? config.host;
    return {
      listener,
      address: `${address}:${port}`,
      tls: !alwaysPlain && tls !== undefined,
      mtls: !alwaysPlain && tls?.client_ca_file !== undefined,
      loopback: isLoopback(address),
    };
  };
  const listeners = [entry('http', config.host, config.http_port, config.tls)];
  if (config.forward.enabled) listeners.push(entry('forward', config.forward.host, config.forward.port, config.forward.tls));
  if (config.syslog.enabled) {
    listeners.push(entry('syslog_tcp', config.syslog.host, config.syslog.tcp_port, undefined, true));
    listeners.push(entry('syslog_udp', config.syslog.host, config.syslog.udp_port, undefined, true));
    if (config.syslog.tls) listeners.push(entry('syslog_tls', config.syslog.host, config.syslog.tls_port, config.syslog.tls));
  }
  if (config.otlp_grpc.enabled) listeners.push(entry('otlp_grpc', config.otlp_grpc.host, config.otlp_grpc.port, config.otlp_grpc.tls));
  return listeners;
}

/** Worst first: the status a section takes when its parts disagree. */
const severity = { pass: 0, attention: 1, fail: 2 } as const;

function listenerVerdict(listeners: ListenerProtection[]): { status: SectionStatus; reason: string } {
  const exposedPlaintext = listeners.filter((listener) => !listener.tls && !listener.loopback);
  const loopbackPlaintext = listeners.filter((listener) => !listener.tls && listener.loopback);
  if (exposedPlaintext.length > 0) {
    return {
      status: 'fail',
      reason: `plaintext on non-loopback addresses (allow_plaintext: true): ${exposedPlaintext.map((listener) => `${listener.listener} ${listener.address}`).join(', ')}`,
    };
  }
  if (loopbackPlaintext.length > 0)
    return {
      status: 'attention',
      reason: `plaintext listeners on loopback only: ${loopbackPlaintext.map((listener) => listener.listener).join(', ')}`,
    };
  const mtls = listeners.filter((listener) => listener.mtls).length;
  return { status: 'pass', reason: `all ${listeners.length} listeners use TLS, ${mtls} with client certificates (mTLS)` };
}

/**
 * Encryption at rest as ClickHouse reports it: whether every disk holding
 * meshlog's tables is an encrypted disk, beside what the configuration asks
 * for (`encryption.enabled`), and the storage keys added in the period.
 */
async function encryptionAtRest({ sources, audit }: SectionInput) {
  const [tables, disks] = await Promise.all([sources.queries.tableUse(), sources.queries.disks()]);
  const used = new Set(tables.map((row) => row.disk));
  const dataDisks = disks
    .filter((disk) => used.has(disk.name))
    .map((disk) => ({ disk: disk.name, type: disk.type, encrypted: Number(disk.is_encrypted) === 1 }));
  const plain = dataDisks.filter((disk) => !disk.encrypted);
  const state = {
    configured: sources.config.encryption.enabled ? 'enabled' : 'disabled (encryption.enabled: false)',
    data_disks: dataDisks,
    storage_keys_added: audit
      .filter((event) => event.action === 'storage.key_added')
      .map((event) => ({
        time: event.time,
        action: event.action,
        by: event.actor_name,
        outcome: event.outcome,
        detail: auditDetail(event),
      })),
  };
  const verdict: { status: SectionStatus; reason: string } =
    plain.length === 0 && dataDisks.length > 0
      ? { status: 'pass', reason: `all ${dataDisks.length} disks holding meshlog data are encrypted` }
      : {
          status: 'attention',
          reason: `encryption at rest is ${sources.config.encryption.enabled ? 'configured, but' : state.configured}: ${plain.map((disk) => `disk ${disk.disk} (${disk.type})`).join(', ')} stores meshlog data unencrypted`,
        };
  return { state, verdict };
}

/** Transmission and storage protection: which listeners ran with TLS or mTLS, every plaintext exception, and encryption at rest. */
export async function transmissionSection(input: SectionInput): Promise<ReportSection> {
  const { sources, audit } = input;
  const config = sources.config;
  const listeners = listenerProtection(config);
  const atRest = await encryptionAtRest(input);
  const data = {
    listeners,
    allow_plaintext: config.allow_plaintext,
    plaintext_exceptions: listeners.filter((listener) => !listener.tls && !listener.loopback).map((listener) => listener.listener),
    certificate_reloads: audit
      .filter((event) => event.action === 'config.tls_reload')
      .map((event) => ({ time: event.time, outcome: event.outcome })),
    encryption_at_rest: atRest.state,
    note: 'listeners as configured in the running server (ports as configured; 0 means any free port); disks as ClickHouse reports them at generation time',
  };
  const base = { id: 'transmission', title: 'Transmission protection and encryption at rest', criteria: ['CC6.1', 'CC6.6', 'CC6.7'], data };
  const verdicts = [listenerVerdict(listeners), atRest.verdict];
  const status = verdicts.reduce<SectionStatus>(
    (worst, verdict) => (severity[verdict.status] > severity[worst] ? verdict.status : worst),
    'pass',
  );
  const reasons = status === 'pass' ? verdicts : verdicts.filter((verdict) => verdict.status !== 'pass');
  return { ...base, status, reason: reasons.map((verdict) => verdict.reason).join('; ') };
}
