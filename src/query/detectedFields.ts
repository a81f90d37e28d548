import { decodeLogfmt, sanitizeLabelKey } from './logql/logfmtDecoder.js';
import { parseBytes, parseDuration } from './logql/lexer.js';
import { flattenJson } from './logql/pipeline.js';
import type { Stream } from './logql/selectStreams.js';

export interface DetectedField {
  label: string;
  type: 'int' | 'float' | 'boolean' | 'duration' | 'bytes' | 'string';
  cardinality: number;
  parsers: string[] | null;
  jsonPath?: string[];
}

function typeOf(value: string): DetectedField['type'] {
  if (/^-?\d+$/.test(value)) return 'int';
  if (/^-?\d*\.\d+(?:[eE][+-]?\d+)?$/.test(value)) return 'float';
  if (value === 'true' || value === 'false') return 'boolean';
  if (parseDuration(value) !== undefined) return 'duration';
  if (parseBytes(value) !== undefined) return 'bytes';
  return 'string';
}

function fieldType(types: Set<DetectedField['type']>): DetectedField['type'] {
  if (types.size === 1) return [...types][0];
  if (types.size === 2 && types.has('int') && types.has('float')) return 'float';
  return 'string';
}

interface LineField {
  name: string;
  value: string;
  parser: 'json' | 'logfmt';
  jsonPath?: string[];
}

/** The fields `| json` (for a JSON object line) or else `| logfmt` would extract from a line. */
function lineFields(line: string): LineField[] {
  let object: unknown;
  try {
    object = JSON.parse(line);
  } catch {
    object = undefined;
  }
  if (typeof object === 'object' && object !== null && !Array.isArray(object)) {
    const pairs: [string, string, string[]][] = [];
    flattenJson(object, '', [], pairs);
    return pairs.map(([name, value, jsonPath]) => ({ name, value, parser: 'json', jsonPath }));
  }
  const fields: LineField[] = [];
  // As `| logfmt`: a bare key or an empty value is no field.
  for (const { key, value } of decodeLogfmt(line).pairs) {
    const name = sanitizeLabelKey(key);
    if (name !== '' && value !== undefined) fields.push({ name, value, parser: 'logfmt' });
  }
  return fields;
}

const bytePowers: Record<string, number> = { '': 0, b: 0, k: 1, m: 2, g: 3, t: 4, p: 5, e: 6 };
const byteSuffixes = [
  'b',
  'kib',
  'kb',
  'mib',
  'mb',
  'gib',
  'gb',
  'tib',
  'tb',
  'pib',
  'pb',
  'eib',
  'eb',
  'ki',
  'k',
  'mi',
  'm',
  'gi',
  'g',
  'ti',
  't',
  'pi',
  'p',
  'ei',
  'e',
];
const byteSizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/**
 * Loki's special case for byte values (humanize.ParseBytes, then humanize.Bytes
 * without its space: `1.5KB` → `1.5kB`, `2KB` → `2.0kB`), so a value can go into a
 * query as it is; anything else unchanged.
 */
function bytesValue(value: string): string {
  const lower = value.toLowerCase();
  if (!byteSuffixes.some((suffix) => lower.endsWith(suffix))) return value;
  const match = /^([0-9.,]*)(.*)$/.exec(value)!;
  const number = Number(match[1].replaceAll(',', ''));
  const unit = match[2].trim().toLowerCase();
  const parsed = /^([kmgtpe]?)(i?)b?$/.exec(unit);
  if (match[1] === '' || Number.isNaN(number) || !parsed || (parsed[2] === 'i' && parsed[1] === '')) return value;
  const bytes = Math.floor(number * (parsed[2] === 'i' ? 1024 : 1000) ** bytePowers[parsed[1]]);
  if (bytes < 10) return `${bytes}B`;
  const exponent = Math.floor(Math.log(bytes) / Math.log(1000));
  const scaled = Math.floor((bytes / 1000 ** exponent) * 10 + 0.5) / 10;
  return `${scaled < 10 ? scaled.toFixed(1) : scaled.toFixed(0)}${byteSizes[exponent]}`;
}

/**
 * /detected_field/<name>/values, as Loki's parseDetectedFieldValues: the distinct
 * values of the field among the entries' structured metadata and what a json or
 * logfmt parser extracts from their lines, at most `limit`.
 */
export function detectedFieldValues(streams: Stream[], streamLabelNames: Set<string>, name: string, limit: number): string[] {
  const values = new Set<string>();
  for (const stream of streams) {
    const metadata = streamLabelNames.has(name) ? undefined : stream.labels[name];
    for (const [, line] of stream.entries) {
      if (values.size >= limit) break;
      if (metadata !== undefined) values.add(metadata);
      for (const field of lineFields(line)) if (field.name === name) values.add(bytesValue(field.value));
    }
  }
  return [...values];
}

/**
 * What Grafana's Logs Drilldown asks /detected_fields for: the fields a json
 * or logfmt parser would extract from sampled lines, plus structured metadata,
 * each with its type (the first non-string type seen wins) and cardinality.
 */
export function detectFields(streams: Stream[], streamLabelNames: Set<string>, limit: number): DetectedField[] {
  const fields = new Map<string, { values: Set<string>; types: Set<DetectedField['type']>; parsers: Set<string>; jsonPath?: string[] }>();
  const note = (label: string, value: string, parser: string | undefined, jsonPath?: string[]) => {
    let field = fields.get(label);
    if (!field) fields.set(label, (field = { values: new Set(), types: new Set(), parsers: new Set(), jsonPath }));
    field.values.add(value);
    field.types.add(typeOf(value));
    if (parser) field.parsers.add(parser);
    field.jsonPath ??= jsonPath;
  };
  for (const stream of streams) {
    for (const [name, value] of Object.entries(stream.labels)) if (!streamLabelNames.has(name)) note(name, value, undefined);
    for (const [, line] of stream.entries)
      for (const field of lineFields(line)) note(field.name, field.value, field.parser, field.jsonPath);
  }
  return [...fields].slice(0, limit).map(([label, field]) => ({
    label,
    type: fieldType(field.types),
    cardinality: field.values.size,
    parsers: field.parsers.size > 0 ? [...field.parsers].sort() : null,
    ...(field.jsonPath ? { jsonPath: field.jsonPath } : {}),
  }));
}
