import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import snappy from 'snappy';
import type { Batch, OtlpRecord } from '../delivery/batchBuilder.js';
import { ProtoWriter } from '../delivery/protoWriter.js';
import type { KeyValue } from '../source.js';
import { nanos, type AgentOutput } from '../delivery/agentOutput.js';

const gzipAsync = promisify(gzip);

/** Loki label and structured-metadata names: `[a-zA-Z_][a-zA-Z0-9_]*` (dots become underscores, as Loki's own OTLP ingestion does). */
export function lokiName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

function pairs(values: KeyValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of values) out[lokiName(key)] = value.stringValue;
  return out;
}

/**
 * A line's structured metadata: its attributes (the record id as
 * `log_record_uid`), its severity as `level`, and when the agent read it as
 * `observed_timestamp` (ns, the name Loki gives OTLP's observed time), so a
 * receiver can tell a batch re-sent after a restart from a new one.
 */
function metadataOf(record: OtlpRecord): Record<string, string> {
  const metadata = pairs(record.attributes);
  if (record.severityText) metadata.level = record.severityText.toLowerCase();
  metadata.observed_timestamp = nanos(record.observedTimeUnixNano).toString();
  return metadata;
}

/** Stream labels in Loki's text form, `{name="value", …}` (JSON string quoting is what Loki's label parser reads). */
function labelText(labels: Record<string, string>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(', ')}}`;
}

/** Loki push as JSON (gzip): one stream per source. */
async function encodeLokiJson(batch: Batch): Promise<Buffer> {
  const streams = [];
  for (const [source, records] of batch.bySource) {
    const values = records.map((record) => [
      nanos(record.timeUnixNano ?? record.observedTimeUnixNano).toString(),
      record.body.stringValue,
      metadataOf(record),
    ]);
    streams.push({ stream: pairs(source.resource), values });
  }
  return gzipAsync(JSON.stringify({ streams }), { level: 1 });
}

/** Loki's own wire format, as Promtail and Alloy send it: a logproto.PushRequest, snappy-compressed (raw block). */
async function encodeLokiProtobuf(batch: Batch): Promise<Buffer> {
  const writer = new ProtoWriter(batch.records * 256 + 4096);
  for (const [source, records] of batch.bySource) {
    const stream = writer.begin(1);
    writer.string(1, labelText(pairs(source.resource)));
    for (const record of records) {
      const entry = writer.begin(2);
      const time = nanos(record.timeUnixNano ?? record.observedTimeUnixNano);
      const timestamp = writer.begin(1);
      writer.uint32(1, Number(time / 1_000_000_000n));
      writer.uint32(2, Number(time % 1_000_000_000n));
      writer.end(timestamp);
      writer.string(2, record.body.stringValue);
      for (const [name, value] of Object.entries(metadataOf(record))) {
        const pair = writer.begin(3);
        writer.string(1, name);
        writer.string(2, value);
        writer.end(pair);
      }
      writer.end(entry);
    }
    writer.end(stream);
  }
  return snappy.compress(writer.finish());
}

/**
 * Grafana Loki's push API (or meshlog's `/loki/api/v1/push`): one stream per
 * source, its resource attributes as stream labels (host, file path, pod: low
 * cardinality), each line's attributes as structured metadata. 204
 * acknowledges, 4xx other than 429 refuses for good.
 */
export function lokiOutput(url: string, encoding: 'protobuf' | 'json'): AgentOutput {
  return encoding === 'json'
    ? { name: 'loki', url, contentType: 'application/json', contentEncoding: 'gzip', encode: encodeLokiJson, judge: () => ({ kind: 'ok' }) }
    : {
        name: 'loki',
        url,
        contentType: 'application/x-protobuf',
        contentEncoding: undefined,
        encode: encodeLokiProtobuf,
        judge: () => ({ kind: 'ok' }),
      };
}
