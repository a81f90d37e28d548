import type { MeshlogConfig } from '../config/schema.js';
import type { ReportSection, SectionInput } from './reportModel.js';

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
  const entry = (listener: string, host: string | undefined, port: number, tls: { client_ca_file?: string } | undefined, alwaysPlain = false) => {
    const address = host ?? config.host;
    return { listener, address: `${address}:${port}`, tls: !alwaysPlain && tls !== undefined, mtls: !alwaysPlain && tls?.client_ca_file !== undefined, loopback: isLoopback(address) };
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

/** Transmission protection: which listeners ran with TLS or mTLS, and every plaintext exception. */
export async function transmissionSection({ sources, audit }: SectionInput): Promise<ReportSection> {
  const config = sources.config;
  const listeners = listenerProtection(config);
  const exposedPlaintext = listeners.filter((listener) => !listener.tls && !listener.loopback);
  const loopbackPlaintext = listeners.filter((listener) => !listener.tls && listener.loopback);
  const data = {
    listeners,
    allow_plaintext: config.allow_plaintext,
    plaintext_exceptions: exposedPlaintext.map((listener) => listener.listener),
    certificate_reloads: audit.filter((event) => event.action === 'config.tls_reload').map((event) => ({ time: event.time, outcome: event.outcome })),
    note: 'listeners as configured in the running server (ports as configured; 0 means any free port)',
  };
  const base = { id: 'transmission', title: 'Transmission protection: TLS and mTLS on every listener', criteria: ['CC6.6', 'CC6.7'], data };
  if (exposedPlaintext.length > 0) {
    return { ...base, status: 'fail', reason: `plaintext on non-loopback addresses (allow_plaintext: true): ${exposedPlaintext.map((listener) => `${listener.listener} ${listener.address}`).join(', ')}` };
  }
  if (loopbackPlaintext.length > 0) {
    return { ...base, status: 'attention', reason: `plaintext listeners on loopback only: ${loopbackPlaintext.map((listener) => listener.listener).join(', ')}` };
  }
  const mtls = listeners.filter((listener) => listener.mtls).length;
  return { ...base, status: 'pass', reason: `all ${listeners.length} listeners use TLS, ${mtls} with client certificates (mTLS)` };
}
