import dgram from 'node:dgram';
import net from 'node:net';
import type { MeshlogConfig } from '../config/schema.js';

/** One port the configuration asks meshlog to listen on, and how a person moves it. */
export interface PlannedPort {
  /** Listener name as in the "meshlog is ready" line (http, forward, syslog_tcp…). */
  name: string;
  /** What people call it. */
  label: string;
  transport: 'tcp' | 'udp';
  host: string;
  port: number;
  tls: boolean;
  /** The flag (when there is one), config key and environment variable that move it. */
  moveWith: string;
}

/** Every port `meshlog start` will listen on with this configuration, in start order. */
export function plannedPorts(config: MeshlogConfig): PlannedPort[] {
  const ports: PlannedPort[] = [
    {
      name: 'http',
      label: 'HTTP API and web UI',
      transport: 'tcp',
      host: config.host,
      port: config.http_port,
      tls: config.tls !== undefined,
      moveWith: '--http-port, http_port or MESHLOG_HTTP_PORT',
    },
  ];
  if (config.forward.enabled) {
    ports.push({
      name: 'forward',
      label: 'Fluentd forward',
      transport: 'tcp',
      host: config.forward.host ?? config.host,
      port: config.forward.port,
      tls: config.forward.tls !== undefined,
      moveWith: '--forward-port, forward.port or MESHLOG_FORWARD_PORT (or --no-forward)',
    });
  }
  if (config.syslog.enabled) {
    const host = config.syslog.host ?? config.host;
    ports.push({
      name: 'syslog_tcp',
      label: 'syslog TCP',
      transport: 'tcp',
      host,
      port: config.syslog.tcp_port,
      tls: false,
      moveWith: '--syslog-port, syslog.tcp_port or MESHLOG_SYSLOG_TCP_PORT (or --no-syslog)',
    });
    ports.push({
      name: 'syslog_udp',
      label: 'syslog UDP',
      transport: 'udp',
      host,
      port: config.syslog.udp_port,
      tls: false,
      moveWith: '--syslog-port, syslog.udp_port or MESHLOG_SYSLOG_UDP_PORT (or --no-syslog)',
    });
    if (config.syslog.tls)
      ports.push({
        name: 'syslog_tls',
        label: 'syslog TLS',
        transport: 'tcp',
        host,
        port: config.syslog.tls_port,
        tls: true,
        moveWith: '--syslog-tls-port, syslog.tls_port or MESHLOG_SYSLOG_TLS_PORT',
      });
  }
  if (config.otlp_grpc.enabled) {
    ports.push({
      name: 'otlp_grpc',
      label: 'OTLP/gRPC',
      transport: 'tcp',
      host: config.otlp_grpc.host ?? config.host,
      port: config.otlp_grpc.port,
      tls: config.otlp_grpc.tls !== undefined,
      moveWith: '--otlp-grpc-port, otlp_grpc.port or MESHLOG_OTLP_GRPC_PORT (or --no-otlp-grpc)',
    });
  }
  return ports;
}

/** Binds and releases the port at once; resolves with the error code when it cannot be bound (EADDRINUSE, EACCES…). */
function tryBind(planned: PlannedPort): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (planned.transport === 'udp') {
      const socket = dgram.createSocket(planned.host.includes(':') ? 'udp6' : 'udp4');
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.close();
        resolve(error.code ?? error.message);
      });
      socket.bind(planned.port, planned.host, () => socket.close(() => resolve(undefined)));
      return;
    }
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ port: planned.port, host: planned.host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

const reasons: Record<string, string> = {
  EADDRINUSE: 'is already in use',
  EACCES: 'needs privileges meshlog does not have',
  EADDRNOTAVAIL: 'is on an address this host does not have',
};

/**
 * Which configured ports cannot be had, each as a sentence naming the flag or
 * key that moves it: checked before anything is created on disk. Two of
 * meshlog's own listeners on the same port count too. Port 0 (any free
 * port) always works.
 */
export async function unavailablePorts(ports: PlannedPort[]): Promise<string[]> {
  const problems: string[] = [];
  const taken = new Map<string, PlannedPort>();
  for (const planned of ports) {
    if (planned.port === 0) continue;
    const where = `${planned.host}:${planned.port}`;
    const key = `${planned.transport}/${planned.port}`;
    const clash = taken.get(key);
    if (clash) {
      problems.push(
        `${planned.label} and ${clash.label} both ask for ${planned.transport.toUpperCase()} port ${planned.port}: move one with ${planned.moveWith}`,
      );
      continue;
    }
    taken.set(key, planned);
    const code = await tryBind(planned);
    if (code)
      problems.push(
        `${planned.label} port ${where} (${planned.transport.toUpperCase()}) ${reasons[code] ?? `cannot be bound (${code})`}: move it with ${planned.moveWith}`,
      );
  }
  return problems;
}
