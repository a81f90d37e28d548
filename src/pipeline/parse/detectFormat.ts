import { parseJsonObject } from '../../formats/jsonObject.js';
import { parseEnvoyDefault } from './envoyDefault.js';
import { parseEnvoyJson } from './envoyJson.js';
import { parseHubbleFlow } from './hubbleFlow.js';
import { parseIngressNginx } from './ingressNginx.js';
import { parseIstioText } from './istioText.js';
import { parseKumaAccessLog } from './kumaAccessLog.js';
import { parseLinkerdApache, parseLinkerdJson } from './linkerdAccessLog.js';
import { parseLinkerdProxyJson, parseLinkerdProxyText } from './linkerdProxyLog.js';
import type { LineParser, ParsedLine } from './parsedLine.js';
import { parsePrefixedEnvoy } from './prefixedEnvoy.js';
import { parseJsonBody, parseLogfmtBody } from './structuredBody.js';
import { parseSyslogBody } from './syslogBody.js';
import { parseTraefikCommon } from './traefikCommon.js';
import { parseTraefikJson } from './traefikJson.js';

function parseJsonLine(object: Record<string, unknown>): ParsedLine {
  return (
    parseEnvoyJson(object) ??
    parseLinkerdJson(object) ??
    parseLinkerdProxyJson(object) ??
    parseHubbleFlow(object) ??
    parseTraefikJson(object) ??
    parseJsonBody(object)
  );
}

/**
 * Tries the known formats on one line, cheapest checks first (the first
 * character picks the family; each template fails at its first literal), so
 * a line of plain text costs a few character tests. `custom` parsers
 * (configured Envoy formats) go before the built-in ones.
 */
export function detectAndParse(line: string, custom: readonly LineParser[]): ParsedLine | undefined {
  if (line.length === 0) return undefined;
  for (const parser of custom) {
    const parsed = parser(line);
    if (parsed) return parsed;
  }
  const first = line.charCodeAt(0);
  if (first === 123 /* { */) {
    const object = parseJsonObject(line);
    return object === undefined ? undefined : parseJsonLine(object);
  }
  if (first === 91 /* [ */) {
    const second = line.charCodeAt(1);
    if (second >= 48 && second <= 57)
      return parseIstioText(line) ?? parseEnvoyDefault(line) ?? parseKumaAccessLog(line) ?? parseLinkerdProxyText(line);
    if (second === 32) return parseLinkerdProxyText(line);
    // An IPv6 peer: `[fd00::1]:51160 …`.
    return parseLinkerdApache(line);
  }
  if (first === 60 /* < */) return parseSyslogBody(line);
  const isHex = (first >= 48 && first <= 57) || (first >= 97 && first <= 102) || (first >= 65 && first <= 70);
  if (isHex || first === 58 /* :: */) {
    const parsed = parseLinkerdApache(line) ?? parseIngressNginx(line) ?? parseTraefikCommon(line);
    if (parsed) return parsed;
  }
  // `Nov 25 12:00:00 host app[1]: …` (a syslog file line); an upper-case first letter is cheap to rule out first.
  if (first >= 65 && first <= 90) {
    const parsed = parseSyslogBody(line) ?? parsePrefixedEnvoy(line);
    if (parsed) return parsed;
  }
  return parseLogfmtBody(line);
}
