import { severityOfStatus } from './severity.js';

/**
 * Envoy response flags (configuration/observability/access_log/usage,
 * %RESPONSE_FLAGS%) that mean the client was refused or cut off for a reason
 * on its own side or by policy: a warning. DI (delay injected) is no failure.
 * Every other flag means the proxy or the upstream failed: an error.
 */
const warningFlags = new Set(['DC', 'DT', 'FI', 'RL', 'UAEX', 'IH', 'SI', 'DPE', 'NFCF']);
const harmlessFlags = new Set(['DI', '-', '']);

/** Severity of a `%RESPONSE_FLAGS%` value such as `UF,URX`; 0 when it names no failure. */
export function severityOfResponseFlags(flags: string): number {
  let severity = 0;
  for (const flag of flags.split(',')) {
    const name = flag.trim();
    if (harmlessFlags.has(name)) continue;
    severity = Math.max(severity, warningFlags.has(name) ? 13 : 17);
  }
  return severity;
}

/**
 * The level of a proxied exchange, which its access log does not write:
 * a gRPC call that did not end OK is an error whatever its HTTP status (gRPC
 * answers 200 and puts the outcome in the grpc-status trailer); else the HTTP
 * status decides (5xx error, 4xx warning); a connection or request without a
 * status is info unless a response flag says it failed.
 */
export function severityOfExchange(responseCode: number, attributes: Record<string, string>): number {
  const grpc = attributes['rpc.grpc.status_code'];
  if (grpc !== undefined && grpc !== '0') return 17;
  if (responseCode > 0) return severityOfStatus(responseCode);
  return severityOfResponseFlags(attributes['mesh.response_flags'] ?? '') || 9;
}

/**
 * A line with byte counts but no request, status or protocol is a TCP
 * connection (Envoy tcp_proxy, Istio TCP, Kuma TCP): it says so in
 * `network.transport`, so its protocol is `tcp` and not blank.
 */
export function markConnection(attributes: Record<string, string>): void {
  if (attributes['network.transport'] !== undefined || attributes['network.protocol.name'] !== undefined) return;
  if (
    attributes['http.request.method'] !== undefined ||
    attributes['http.response.status_code'] !== undefined ||
    attributes['url.path'] !== undefined
  )
    return;
  if (attributes['mesh.bytes_sent'] === undefined && attributes['mesh.bytes_received'] === undefined) return;
  attributes['network.transport'] = 'tcp';
}
