import { attribute, hostPort, setRequestLine, setTime, setUrl } from './fieldSetters.js';
import { compileTemplate } from './lineTemplate.js';
import { isUnset, newParsedLine, type ParsedLine } from './parsedLine.js';

/** `config.linkerd.io/access-log: apache`: `<client> <client id> - [<time>] "<request line>" <status>`. */
export const parseLinkerdApache = compileTemplate({
  format: 'linkerd_apache',
  mesh: 'linkerd',
  literals: ['', ' ', ' - [', '] "', '" ', ''],
  setters: [hostPort('client'), attribute('mesh.source.identity'), setTime, setRequestLine, attribute('http.response.status_code')],
});

/**
 * `config.linkerd.io/access-log: json`. Numbers arrive as strings except
 * status; durations in ns become mesh.duration_ms.
 */
export function parseLinkerdJson(object: Record<string, unknown>): ParsedLine | undefined {
  if (typeof object['client.addr'] !== 'string' || object.total_ns === undefined) return undefined;
  const out = newParsedLine('linkerd_json', 'linkerd');
  const text = (key: string): string | undefined => {
    const value = object[key];
    if (value === null || value === undefined) return undefined;
    const string = String(value);
    return isUnset(string) ? undefined : string;
  };
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined) out.attributes[name] = value;
  };
  hostPort('client')(object['client.addr'] as string, out);
  set('mesh.source.identity', text('client.id'));
  const host = text('host');
  if (host !== undefined) hostPort('server')(host, out);
  set('http.request.method', text('method'));
  const uri = text('uri');
  if (uri !== undefined) setUrl(uri, out);
  set('http.response.status_code', text('status'));
  set('user_agent.original', text('user_agent'));
  const version = text('version');
  if (version !== undefined) attribute('network.protocol.version')(version.replace(/^HTTP\//, ''), out);
  if (version !== undefined) out.attributes['network.protocol.name'] = 'http';
  set('http.request.body.size', text('request_bytes'));
  set('http.response.body.size', text('response_bytes'));
  set('mesh.bytes_received', text('request_bytes'));
  set('mesh.bytes_sent', text('response_bytes'));
  set('mesh.trace_id', text('trace_id'));
  set('mesh.proxy.processing_ns', text('processing_ns'));
  const total = Number(text('total_ns'));
  if (Number.isFinite(total)) out.attributes['mesh.duration_ms'] = String(total / 1e6);
  const time = text('timestamp');
  if (time !== undefined) setTime(time, out);
  return out;
}
