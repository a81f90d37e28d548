import { attribute, hostPort, setProtocol, setUrl } from './fieldSetters.js';
import type { FieldSetter } from './lineTemplate.js';
import { isUnset, newParsedLine, type ParsedLine } from './parsedLine.js';

/** Traefik writes durations in nanoseconds; access logs here carry milliseconds. */
function nanosAsMillis(name: string): FieldSetter {
  return (value, out) => {
    const nanos = Number(value);
    if (Number.isFinite(nanos)) out.attributes[name] = String(nanos / 1_000_000);
  };
}

/** Traefik's JSON access log fields (docs: observability/access-logs, "JSON format fields"). */
const keySetters = new Map<string, FieldSetter>(
  Object.entries({
    ClientAddr: hostPort('client'),
    ClientHost: attribute('client.address'),
    ClientPort: attribute('client.port'),
    ClientUsername: attribute('user.name'),
    RequestMethod: attribute('http.request.method'),
    RequestPath: setUrl,
    RequestProtocol: setProtocol,
    RequestScheme: attribute('url.scheme'),
    RequestHost: attribute('server.address'),
    RequestPort: attribute('server.port'),
    RequestContentSize: attribute('mesh.bytes_received'),
    DownstreamStatus: attribute('http.response.status_code'),
    DownstreamContentSize: attribute('mesh.bytes_sent'),
    OriginStatus: attribute('mesh.upstream.status_code'),
    Duration: nanosAsMillis('mesh.duration_ms'),
    OriginDuration: nanosAsMillis('mesh.upstream.service_time_ms'),
    Overhead: nanosAsMillis('traefik.overhead_ms'),
    ServiceAddr: attribute('mesh.upstream.host'),
    ServiceURL: attribute('traefik.service.url'),
    ServiceName: attribute('traefik.service.name'),
    RouterName: attribute('traefik.router.name'),
    RequestCount: attribute('traefik.request_count'),
    RetryAttempts: attribute('traefik.retry_attempts'),
    entryPointName: attribute('traefik.entrypoint'),
    TLSVersion: attribute('tls.protocol.version'),
    TLSCipher: attribute('tls.cipher'),
    'request_User-Agent': attribute('user_agent.original'),
    'request_X-Request-Id': attribute('http.request.header.x-request-id'),
  }),
);

/** logrus's own keys (`level` is always info for access lines) and the local copy of StartUTC. */
const dropped = new Set(['level', 'msg', 'time', 'StartLocal', 'StartUTC']);

/**
 * A Traefik JSON access log object: recognised by RequestMethod plus
 * DownstreamStatus or StartUTC. The event time is StartUTC (nanosecond
 * precision), not logrus's `time` (whole seconds, when the line was written);
 * the level is left to the status, as for the other access logs.
 */
export function parseTraefikJson(object: Record<string, unknown>): ParsedLine | undefined {
  if (typeof object.RequestMethod !== 'string' || (object.DownstreamStatus === undefined && object.StartUTC === undefined))
    return undefined;
  const out = newParsedLine('traefik_json', 'traefik');
  const start = object.StartUTC ?? object.StartLocal ?? object.time;
  if (typeof start === 'string') out.time = start;
  // Traefik before 2.6 wrote ServiceURL as Go's url.URL struct.
  const service = object.ServiceURL;
  if (typeof service === 'object' && service !== null) {
    const { Scheme, Host, Path } = service as Record<string, unknown>;
    if (typeof Scheme === 'string' && typeof Host === 'string')
      out.attributes['traefik.service.url'] = `${Scheme}://${Host}${typeof Path === 'string' ? Path : ''}`;
  }
  for (const key in object) {
    const value = object[key];
    if (dropped.has(key) || value === null || value === undefined || typeof value === 'object') continue;
    const text = String(value);
    if (isUnset(text)) continue;
    const setter = keySetters.get(key);
    if (setter) setter(text, out);
    else if (key.startsWith('request_')) out.attributes[`http.request.header.${key.slice(8).toLowerCase()}`] = text;
    else if (key.startsWith('downstream_')) out.attributes[`http.response.header.${key.slice(11).toLowerCase()}`] = text;
    else if (key.startsWith('origin_')) out.attributes[`mesh.upstream.response.header.${key.slice(7).toLowerCase()}`] = text;
    else out.attributes[`traefik.${key}`] = text;
  }
  // OriginStatus 0 means no origin answered (Traefik handled the request itself): no upstream status or time.
  if (object.OriginStatus === 0) {
    delete out.attributes['mesh.upstream.status_code'];
    delete out.attributes['mesh.upstream.service_time_ms'];
  }
  return out;
}
