import { envoyCommandSetter } from './envoyCommands.js';
import type { FieldSetter } from './lineTemplate.js';
import { isUnset, newParsedLine, type ParsedLine } from './parsedLine.js';
import { meshOfCluster } from './upstreamCluster.js';

/** The keys of Istio's EnvoyJSONLogFormatIstio and Consul's default JSON access log, by the command each holds. */
const keyCommands: Record<string, string> = {
  start_time: 'START_TIME',
  route_name: 'ROUTE_NAME',
  method: 'REQ(:METHOD)',
  path: 'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)',
  protocol: 'PROTOCOL',
  response_code: 'RESPONSE_CODE',
  response_flags: 'RESPONSE_FLAGS',
  response_code_details: 'RESPONSE_CODE_DETAILS',
  connection_termination_details: 'CONNECTION_TERMINATION_DETAILS',
  bytes_received: 'BYTES_RECEIVED',
  bytes_sent: 'BYTES_SENT',
  duration: 'DURATION',
  upstream_service_time: 'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)',
  x_forwarded_for: 'REQ(X-FORWARDED-FOR)',
  user_agent: 'REQ(USER-AGENT)',
  request_id: 'REQ(X-REQUEST-ID)',
  authority: 'REQ(:AUTHORITY)',
  upstream_host: 'UPSTREAM_HOST',
  upstream_cluster: 'UPSTREAM_CLUSTER',
  upstream_local_address: 'UPSTREAM_LOCAL_ADDRESS',
  downstream_local_address: 'DOWNSTREAM_LOCAL_ADDRESS',
  downstream_remote_address: 'DOWNSTREAM_REMOTE_ADDRESS',
  requested_server_name: 'REQUESTED_SERVER_NAME',
  upstream_transport_failure_reason: 'UPSTREAM_TRANSPORT_FAILURE_REASON',
  // Common additions in user json_format configs.
  trace_id: 'TRACE_ID',
  traceparent: 'REQ(TRACEPARENT)',
  grpc_status: 'GRPC_STATUS',
  upstream_request_attempt_count: 'UPSTREAM_REQUEST_ATTEMPT_COUNT',
};
const keySetters = new Map<string, FieldSetter>(Object.entries(keyCommands).map(([key, command]) => [key, envoyCommandSetter(command)]));

/**
 * An Envoy JSON access log object (Istio `accessLogEncoding: JSON`, Consul
 * `AccessLogs` default, App Mesh `json` format with the same keys):
 * recognised by start_time plus response_code or duration. Numbers are typed
 * or strings, unset values null or "-"; the upstream cluster names the mesh.
 */
export function parseEnvoyJson(object: Record<string, unknown>): ParsedLine | undefined {
  if (object.start_time === undefined || (object.response_code === undefined && object.duration === undefined)) return undefined;
  const out = newParsedLine('envoy_json', '');
  for (const key in object) {
    const setter = keySetters.get(key);
    const value = object[key];
    if (setter === undefined || value === null || value === undefined || typeof value === 'object') continue;
    const text = String(value);
    if (!isUnset(text)) setter(text, out);
  }
  const cluster = out.attributes['mesh.upstream.cluster'];
  out.mesh = (cluster === undefined ? undefined : meshOfCluster(cluster)) ?? 'envoy';
  return out;
}
