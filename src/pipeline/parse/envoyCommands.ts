import type { FieldSetter } from './lineTemplate.js';
import { attribute, hostPort, setGrpcStatus, setProtocol, setTime, setUrl } from './fieldSetters.js';

/** Envoy writes 0 when no response was sent (a TCP connection, a client that left): that is no status. */
const setResponseCode: FieldSetter = (value, out) => {
  if (value !== '0') out.attributes['http.response.status_code'] = value;
};

/** Envoy command operators (and headers) with an OpenTelemetry name or a meshlog `mesh.*` name. */
const commandSetters: Record<string, FieldSetter> = {
  START_TIME: setTime,
  PROTOCOL: setProtocol,
  RESPONSE_CODE: setResponseCode,
  RESPONSE_FLAGS: attribute('mesh.response_flags'),
  RESPONSE_CODE_DETAILS: attribute('mesh.response_code_details'),
  CONNECTION_TERMINATION_DETAILS: attribute('mesh.connection_termination_details'),
  UPSTREAM_TRANSPORT_FAILURE_REASON: attribute('mesh.upstream.transport_failure_reason'),
  BYTES_RECEIVED: attribute('mesh.bytes_received'),
  BYTES_SENT: attribute('mesh.bytes_sent'),
  DURATION: attribute('mesh.duration_ms'),
  UPSTREAM_HOST: attribute('mesh.upstream.host'),
  UPSTREAM_CLUSTER: attribute('mesh.upstream.cluster'),
  UPSTREAM_CLUSTER_RAW: attribute('mesh.upstream.cluster'),
  UPSTREAM_LOCAL_ADDRESS: attribute('mesh.upstream.local_address'),
  DOWNSTREAM_LOCAL_ADDRESS: attribute('mesh.downstream.local_address'),
  DOWNSTREAM_REMOTE_ADDRESS: hostPort('client'),
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: hostPort('client'),
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: attribute('mesh.downstream.direct_remote_address'),
  REQUESTED_SERVER_NAME: attribute('tls.client.server_name'),
  ROUTE_NAME: attribute('mesh.route_name'),
  TRACE_ID: attribute('mesh.trace_id'),
  GRPC_STATUS: setGrpcStatus,
  'GRPC_STATUS(NUMBER)': setGrpcStatus,
  KUMA_MESH: attribute('mesh.kuma.mesh'),
  KUMA_SOURCE_SERVICE: attribute('mesh.source.workload'),
  KUMA_DESTINATION_SERVICE: attribute('mesh.destination.workload'),
  KUMA_SOURCE_ADDRESS: hostPort('client'),
  KUMA_SOURCE_ADDRESS_WITHOUT_PORT: hostPort('client'),
};

const requestHeaderSetters: Record<string, FieldSetter> = {
  ':method': attribute('http.request.method'),
  ':path': setUrl,
  'x-envoy-original-path': setUrl,
  ':authority': hostPort('server'),
  host: hostPort('server'),
  'user-agent': attribute('user_agent.original'),
  'grpc-status': setGrpcStatus,
};

const responseHeaderSetters: Record<string, FieldSetter> = {
  'x-envoy-upstream-service-time': attribute('mesh.upstream.service_time_ms'),
  'grpc-status': setGrpcStatus,
};

/**
 * The setter for one command as written in a format string, e.g.
 * `REQ(X-ENVOY-ORIGINAL-PATH?:PATH)`, `RESP(GRPC-STATUS):10`, `START_TIME(%s)`.
 * Headers without a convention go to `http.request.header.<name>` (OTel's
 * spelling), so trace headers are found under their own names later.
 */
export function envoyCommandSetter(command: string): FieldSetter {
  const open = command.indexOf('(');
  const name = open < 0 ? command.replace(/:\d+$/, '') : command.slice(0, open);
  const argument = open < 0 ? '' : command.slice(open + 1, command.lastIndexOf(')'));
  if (name === 'START_TIME') return setTime;
  const known = commandSetters[open < 0 ? name : `${name}(${argument})`] ?? (open < 0 ? undefined : commandSetters[name]);
  if (known && name !== 'REQ' && name !== 'REQUEST_HEADER') return known;
  // `A?B` means "header A, else header B": both name the same thing; the first wins.
  const header = argument.split('?')[0].toLowerCase();
  switch (name) {
    case 'REQ':
    case 'REQUEST_HEADER':
      return requestHeaderSetters[header] ?? attribute(`http.request.header.${header}`);
    case 'RESP':
    case 'RESPONSE_HEADER':
      return responseHeaderSetters[header] ?? attribute(`http.response.header.${header}`);
    case 'TRAILER':
    case 'RESPONSE_TRAILER':
      return responseHeaderSetters[header] ?? attribute(`http.response.trailer.${header}`);
    default:
      return attribute(`mesh.envoy.${command.toLowerCase()}`);
  }
}
