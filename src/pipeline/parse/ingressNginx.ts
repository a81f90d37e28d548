import { attribute, hostPort, setRequestLine, setTime } from './fieldSetters.js';
import { compileTemplate, type FieldSetter } from './lineTemplate.js';
import { isUnset, type ParsedLine } from './parsedLine.js';

/** ingress-nginx's upstream name `[upstream-]<namespace>-<service>-<port>`: the destination is `<namespace>-<service>`. */
const setUpstreamName: FieldSetter = (value, out) => {
  out.attributes['mesh.upstream.cluster'] = value;
  const start = value.startsWith('upstream-') ? 9 : 0;
  const end = value.lastIndexOf('-');
  if (end > start) out.attributes['mesh.destination.workload'] = value.slice(start, end);
};

const variables: Record<string, FieldSetter> = {
  remote_addr: hostPort('client'),
  remote_user: attribute('user.name'),
  time_local: setTime,
  request: setRequestLine,
  status: attribute('http.response.status_code'),
  body_bytes_sent: attribute('mesh.bytes_sent'),
  http_referer: attribute('http.request.header.referer'),
  http_user_agent: attribute('user_agent.original'),
  request_length: attribute('mesh.bytes_received'),
  request_time: (value, out) => {
    const seconds = Number(value);
    // nginx writes milliseconds as a fraction of a second: rounded to a microsecond, 1.001 s is 1001 ms, not 1000.9999999999999.
    if (Number.isFinite(seconds)) out.attributes['mesh.duration_ms'] = String(Math.round(seconds * 1_000_000) / 1000);
  },
  proxy_upstream_name: setUpstreamName,
  proxy_alternative_upstream_name: attribute('mesh.upstream.alternative_cluster'),
  upstream_addr: attribute('mesh.upstream.host'),
  upstream_response_length: attribute('mesh.upstream.response_length'),
  upstream_response_time: attribute('mesh.upstream.service_time_s'),
  upstream_status: attribute('mesh.upstream.status_code'),
  req_id: attribute('http.request.header.x-request-id'),
};

/** Compiles an nginx `log_format` string (`$var` fields) into a line parser. */
export function compileNginxFormat(format: string, name: string) {
  const literals: string[] = [];
  const setters: FieldSetter[] = [];
  let last = 0;
  for (const match of format.matchAll(/\$([a-z_0-9]+)/g)) {
    literals.push(format.slice(last, match.index));
    setters.push(variables[match[1]] ?? attribute(`nginx.${match[1]}`));
    last = match.index + match[0].length;
  }
  literals.push(format.slice(last));
  return compileTemplate({ format: name, mesh: 'nginx', literals, setters });
}

/** ingress-nginx's default `upstreaminfo` log format, up to its upstream lists. */
const upstreamInfoHead =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name]';
/** The fields after the head: one value per upstream tried, so a retried request writes lists. */
const upstreamInfoTail = ['upstream_addr', 'upstream_response_length', 'upstream_response_time', 'upstream_status', 'req_id'];

export const ingressNginxFormat = `${upstreamInfoHead} ${upstreamInfoTail.map((name) => `$${name}`).join(' ')}`;

const parseSingleUpstream = compileNginxFormat(ingressNginxFormat, 'ingress_nginx');
const parseHead = compileNginxFormat(upstreamInfoHead, 'ingress_nginx');

/**
 * nginx's upstream variables list one value per upstream tried, `, `
 * between tries and ` : ` between internal redirects
 * (`10.0.0.1:5000, 10.0.0.2:5000 0, 1 0.000, 1.000 502, 403`): the
 * tail's words grouped back into its fields, or undefined when they are
 * not as many as the fields.
 */
function upstreamFields(tail: string): string[] | undefined {
  const fields: string[] = [];
  let joining = false;
  for (const word of tail.split(' ')) {
    if (joining || word === ':') fields[fields.length - 1] += ` ${word}`;
    else fields.push(word);
    joining = word.endsWith(',') || word === ':';
  }
  return fields.length === upstreamInfoTail.length ? fields : undefined;
}

/** A retried request: the head parsed by the template, the upstream lists kept whole (the final status is `$status`). */
function parseRetried(line: string): ParsedLine | undefined {
  const headEnd = line.lastIndexOf('] ');
  // Without a list in the tail the single-upstream template already said no: other formats end here.
  if (headEnd < 0 || (line.indexOf(', ', headEnd) < 0 && line.indexOf(' : ', headEnd) < 0)) return undefined;
  const fields = upstreamFields(line.slice(headEnd + 2).trimEnd());
  if (fields === undefined) return undefined;
  const out = parseHead(line.slice(0, headEnd + 1));
  if (out === undefined) return undefined;
  for (let i = 0; i < fields.length; i++) {
    if (!isUnset(fields[i])) variables[upstreamInfoTail[i]](fields[i], out);
  }
  return out;
}

export function parseIngressNginx(line: string): ParsedLine | undefined {
  return parseSingleUpstream(line) ?? parseRetried(line);
}
