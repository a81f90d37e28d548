import { attribute, hostPort, setProtocol, setTime, setUrl } from './fieldSetters.js';
import { compileTemplate } from './lineTemplate.js';
import type { ParsedLine } from './parsedLine.js';

const setters = [
  hostPort('client'),
  attribute('user.name'),
  setTime,
  attribute('http.request.method'),
  setUrl,
  setProtocol,
  attribute('http.response.status_code'),
  attribute('mesh.bytes_sent'),
  attribute('http.request.header.referer'),
  attribute('user_agent.original'),
  attribute('traefik.request_count'),
  attribute('traefik.router.name'),
  attribute('traefik.service.url'),
  attribute('mesh.duration_ms'),
];
const head = ['', ' - ', ' [', '] "', ' ', ' ', '" ', ' ', ' "', '" "', '" ', ' "'];

/**
 * Traefik's default access log, its extended Common Log Format
 * (pkg/middlewares/accesslog/logger_formatters.go, CommonLogFormatter):
 * `<client> - <user> [<time>] "<method> <path> <protocol>" <status> <size>
 * "<referer>" "<user agent>" <request count> "<router>" "<service URL>" <duration>ms`.
 */
const parseQuotedService = compileTemplate({ format: 'traefik', mesh: 'traefik', literals: [...head, '" "', '" ', 'ms'], setters });
/** Older Traefik releases wrote a missing service URL as a bare `-` (pkg/middlewares/accesslog/parser_test.go). */
const parseBareService = compileTemplate({ format: 'traefik', mesh: 'traefik', literals: [...head, '" ', ' ', 'ms'], setters });

function parseEither(line: string): ParsedLine | undefined {
  return parseQuotedService(line) ?? parseBareService(line);
}

/** Stands in for `\"` while the template splits the line (a private-use character no log line carries). */
const escapedQuote = '\uE000';

/** Traefik writes a `"` inside a quoted field as `\"` (toLogEntry): hidden from the template, restored as `"` in the values. */
export function parseTraefikCommon(line: string): ParsedLine | undefined {
  if (!line.includes('\\"')) return parseEither(line);
  if (line.includes(escapedQuote)) return undefined;
  const parsed = parseEither(line.replaceAll('\\"', escapedQuote));
  if (parsed) {
    for (const key in parsed.attributes) parsed.attributes[key] = parsed.attributes[key].replaceAll(escapedQuote, '"');
  }
  return parsed;
}
