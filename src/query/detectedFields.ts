import { decodeLogfmt, sanitizeLabelKey } from './logql/logfmtDecoder.js';
import { parseBytes, parseDuration } from './logql/lexer.js';
import { flattenJson } from './logql/pipeline.js';
import type { Stream } from './logql/engine.js';

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
      for (const field of lineFields(line)) if (field.name === name) values.add(field.value);
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
    for (const [, line] of stream.entries) for (const field of lineFields(line)) note(field.name, field.value, field.parser, field.jsonPath);
  }
  return [...fields]
    .slice(0, limit)
    .map(([label, field]) => ({
      label,
      type: fieldType(field.types),
      cardinality: field.values.size,
      parsers: field.parsers.size > 0 ? [...field.parsers].sort() : null,
      ...(field.jsonPath ? { jsonPath: field.jsonPath } : {}),
    }));
}
