import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { newLogRecord } from '../../../src/model/logRecord.js';
import { normalizeRecord } from '../../../src/pipeline/normalize/normalizeRecord.js';
import { detectAndParse } from '../../../src/pipeline/parse/detectFormat.js';

/** The Traefik, Emissary and retried ingress-nginx golden lines (each credited in its fixture). */
const fixtures = new URL('../../../../test/fixtures/parsers/', import.meta.url);
const lines = ['traefik.json', 'envoy.json', 'nginx.json'].flatMap((file) =>
  (JSON.parse(readFileSync(new URL(file, fixtures), 'utf8')) as { line: string }[]).map((golden) => golden.line),
);

/** What ingest stores for one line: the parsed fields normalized into a record. */
function recordOf(line: string) {
  const record = newLogRecord({ tenant: 't', body: line, receiver: 'test' });
  normalizeRecord(record, detectAndParse(line, []));
  return record;
}

test('Traefik and retried ingress-nginx lines take warn for 4xx and error for 5xx from the status the client saw', () => {
  const cases: [string, string, number][] = [
    // crowdsecurity/hub .tests/traefik_json/traefik_json.log line 5: no router matched, Traefik answered 404.
    ['traefik JSON 404', lineWith('"DownstreamStatus":404,"Duration":10158'), 13],
    ['traefik CLF 401', lineWith('"testRouter with space"'), 13],
    ['traefik CLF 200', lineWith('/upload.asp'), 9],
    ['ingress-nginx 502 after two 502 upstreams', lineWith('[2a02:cf40::7]:5000, [2a02:cf40::4e36]:5000'), 17],
    ['ingress-nginx 200 after retry', lineWith('61, 100 0.100, 0.004 200, 203'), 9],
  ];
  for (const [name, line, severity] of cases) {
    assert.equal(recordOf(line).severityNumber, severity, name);
  }
});

function lineWith(marker: string): string {
  const line = lines.find((candidate) => candidate.includes(marker));
  assert.ok(line, `a fixture line contains ${marker}`);
  return line;
}

test('Traefik JSON record time is StartUTC to the nanosecond, not the whole-second time of the log call', () => {
  const record = recordOf(lineWith('"StartUTC":"2026-01-14T09:45:33.759014877Z"'));
  assert.equal(record.timeUnixNano, 1768383933759014877n);
  assert.equal(record.mesh?.mesh, 'traefik');
  assert.equal(record.mesh?.responseCode, 404);
  assert.equal(record.mesh?.durationMs, 0.010158);
});

test('Emissary line time comes from the brackets after the ACCESS prefix, not the ingest time', () => {
  const record = recordOf(lineWith('ACCESS [2016-04-15T20:17:00.310Z]'));
  assert.equal(record.timeUnixNano, 1460751420310000000n);
  assert.equal(record.attributes['meshlog.format'], 'envoy');
});

/** Every golden line of every format (Hubble flows, gRPC and TCP access logs included). */
const everyLine = readdirSync(fixtures)
  .filter((file) => file.endsWith('.json'))
  .flatMap((file) => (JSON.parse(readFileSync(new URL(file, fixtures), 'utf8')) as { line: string }[]).map((golden) => golden.line));

const strictLines = new Set(lines);

test('every fixture line cut, padded and mangled at every position never throws and falls back to a plain or generic record', () => {
  const mangle = [
    (line: string, at: number) => line.slice(0, at),
    (line: string, at: number) => line.slice(at),
    (line: string, at: number) => `${line.slice(0, at)}"${line.slice(at)}`,
    (line: string, at: number) => `${line.slice(0, at)}, ${line.slice(at)}`,
    (line: string, at: number) => `${line.slice(0, at)}\\"${line.slice(at)}`,
    (line: string, at: number) => `${line.slice(0, at)}\uE000${line.slice(at)}`,
    (line: string, at: number) => `${line.slice(0, at)}] ${line.slice(at)}`,
  ];
  let parsedAsBefore = 0;
  let tried = 0;
  for (const line of everyLine) {
    const format = detectAndParse(line, [])?.format;
    // The strict text templates (Traefik CLF, Envoy, nginx) must break; an edit inside a JSON string value, a logfmt
    // value or a plain line leaves a line of the same kind.
    const isText = strictLines.has(line) && !line.startsWith('{');
    for (let at = 0; at <= line.length; at++) {
      for (const change of mangle) {
        const changed = change(line, at);
        const parsed = detectAndParse(changed, []);
        if (isText) tried++;
        if (isText && parsed?.format === format) parsedAsBefore++;
        // Whatever was recognised, normalizing it must not throw either, and leaves only text attributes to store.
        const record = newLogRecord({ tenant: 't', body: changed, receiver: 'test' });
        normalizeRecord(record, parsed);
        for (const key in record.attributes) {
          if (typeof record.attributes[key] !== 'string') assert.fail(`${key} is ${typeof record.attributes[key]} in ${changed}`);
        }
      }
    }
  }
  // Most changes break a text format, so few variants may still parse as the original format.
  assert.ok(tried > 5_000, `${tried} mangled text lines tried`);
  assert.ok(parsedAsBefore < tried / 2, `${parsedAsBefore} of ${tried} mangled text lines still parsed as their format`);
});
