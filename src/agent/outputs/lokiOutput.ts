import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Batch } from '../delivery/batchBuilder.js';
import type { KeyValue } from '../source.js';
import { nanos, type AgentOutput } from './agentOutput.js';

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
 * Loki push (JSON, gzip): one stream per source, its resource attributes as
 * stream labels (host, file path, pod: low cardinality); each line's own
 * attributes, its record id included, as structured metadata, and its
 * severity as `level`.
 */
async function encodeLokiPush(batch: Batch): Promise<Buffer> {
  const streams = [];
  for (const [source, records] of batch.bySource) {
    const values = records.map((record) => {
      const time = nanos(record.timeUnixNano ?? record.observedTimeUnixNano);
      const metadata = pairs(record.attributes);
      if (record.severityText) metadata.level = record.severityText.toLowerCase();
      return [time.toString(), record.body.stringValue, metadata];
    });
    streams.push({ stream: pairs(source.resource), values });
  }
  return gzipAsync(JSON.stringify({ streams }), { level: 1 });
}

/** Grafana Loki's push API (or meshlog's `/loki/api/v1/push`); 204 acknowledges, 4xx other than 429 refuses for good. */
export function lokiOutput(url: string): AgentOutput {
  return { name: 'loki', url, contentType: 'application/json', encode: encodeLokiPush, judge: () => ({ kind: 'ok' }) };
}
