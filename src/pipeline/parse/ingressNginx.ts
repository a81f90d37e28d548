import { attribute, hostPort, setRequestLine, setTime } from './fieldSetters.js';
import { compileTemplate, type FieldSetter } from './lineTemplate.js';

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
    if (Number.isFinite(seconds)) out.attributes['mesh.duration_ms'] = String(seconds * 1000);
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

/** ingress-nginx's default `upstreaminfo` log format. */
export const ingressNginxFormat =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id';

export const parseIngressNginx = compileNginxFormat(ingressNginxFormat, 'ingress_nginx');
