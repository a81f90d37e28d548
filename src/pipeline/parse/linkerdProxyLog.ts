import { newParsedLine, type ParsedLine } from './parsedLine.js';

const rustPath = /^[a-z][a-z0-9_]*(::[a-z0-9_]+)*$/;

/**
 * The Linkerd proxy's plain log: `[ 0.002111s] INFO ThreadId(01) linkerd2_proxy: Admin interface on 0.0.0.0:4191`.
 * The bracket holds seconds of proxy uptime, not a time of day: the wall
 * time comes from the container runtime line around it.
 */
export function parseLinkerdProxyText(line: string): ParsedLine | undefined {
  const close = line.indexOf('s]');
  if (close < 3 || close > 24) return undefined;
  const uptime = line.slice(1, close).trim();
  if (!/^\d+\.\d+$/.test(uptime)) return undefined;
  let pos = close + 2;
  while (line.charCodeAt(pos) === 32) pos++;
  const levelEnd = line.indexOf(' ', pos);
  if (levelEnd < 0) return undefined;
  const level = line.slice(pos, levelEnd);
  if (!/^(TRACE|DEBUG|INFO|WARN|ERROR)$/.test(level)) return undefined;
  const out = newParsedLine('linkerd_proxy', 'linkerd');
  out.level = level;
  out.attributes['mesh.proxy.uptime_s'] = uptime;
  pos = levelEnd + 1;
  if (line.startsWith('ThreadId(', pos)) {
    const end = line.indexOf(') ', pos);
    if (end > 0) {
      out.attributes['thread.name'] = line.slice(pos, end + 1);
      pos = end + 2;
    }
  }
  // Spans come before the tracing target (`inbound:server{port=4143}: linkerd_app_core::errors: …`);
  // the target is the first segment spelled as a Rust module path.
  let segmentStart = pos;
  for (let separator = line.indexOf(': ', pos); separator > 0; separator = line.indexOf(': ', separator + 2)) {
    const segment = line.slice(segmentStart, separator);
    if (rustPath.test(segment)) {
      out.attributes['mesh.proxy.target'] = segment;
      if (segmentStart > pos) out.attributes['mesh.proxy.spans'] = line.slice(pos, segmentStart - 2);
      break;
    }
    segmentStart = separator + 2;
  }
  return out;
}

/** `LINKERD2_PROXY_LOG_FORMAT=JSON`: tracing-subscriber JSON with level, target and fields.message. */
export function parseLinkerdProxyJson(object: Record<string, unknown>): ParsedLine | undefined {
  const fields = object.fields;
  if (typeof object.target !== 'string' || typeof object.level !== 'string' || typeof fields !== 'object' || fields === null)
    return undefined;
  if (!object.target.startsWith('linkerd')) return undefined;
  const out = newParsedLine('linkerd_proxy_json', 'linkerd');
  out.level = object.level;
  out.attributes['mesh.proxy.target'] = object.target;
  if (typeof object.timestamp === 'string' && !object.timestamp.startsWith('[')) out.time = object.timestamp;
  for (const [key, value] of Object.entries(fields as Record<string, unknown>)) {
    if (key !== 'message' && value !== null && value !== undefined)
      out.attributes[`mesh.proxy.${key}`] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return out;
}
