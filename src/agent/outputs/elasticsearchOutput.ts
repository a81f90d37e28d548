import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Batch } from '../delivery/batchBuilder.js';
import { nanos, type AgentOutput, type Verdict } from '../delivery/agentOutput.js';

const gzipAsync = promisify(gzip);

/** ISO 8601 with nanoseconds (Elasticsearch `date_nanos` keeps them, `date` rounds to milliseconds). */
function isoNanos(time: bigint): string {
  const millis = time / 1_000_000n;
  const iso = new Date(Number(millis)).toISOString();
  return `${iso.slice(0, 19)}.${(time % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/**
 * `_bulk` NDJSON (gzip): a `create` per record with `_id` = its record id, so
 * a batch sent again after a lost answer is refused per document with 409
 * instead of indexed twice; the document in ECS field names (`@timestamp`,
 * `event.created` = when the agent read the line, `message`, `log.level`)
 * with resource and record attributes as dotted keys.
 */
function encodeBulk(index: string): (batch: Batch) => Promise<Buffer> {
  return async (batch) => {
    const lines: string[] = [];
    for (const [source, records] of batch.bySource) {
      const resource: Record<string, string> = {};
      for (const { key, value } of source.resource) resource[key] = value.stringValue;
      for (const record of records) {
        const document: Record<string, string> = { ...resource };
        let id = '';
        for (const { key, value } of record.attributes) {
          if (key === 'log.record.uid') id = value.stringValue;
          else document[key] = value.stringValue;
        }
        document['@timestamp'] = isoNanos(nanos(record.timeUnixNano ?? record.observedTimeUnixNano));
        document['event.created'] = isoNanos(nanos(record.observedTimeUnixNano));
        document.message = record.body.stringValue;
        if (record.severityText) document['log.level'] = record.severityText.toLowerCase();
        lines.push(JSON.stringify({ create: { _index: index, _id: id } }), JSON.stringify(document));
      }
    }
    return gzipAsync(`${lines.join('\n')}\n`, { level: 1 });
  };
}

interface BulkAnswer {
  errors?: boolean;
  items?: Record<string, { status?: number; error?: { type?: string; reason?: string } }>[];
}

/** A 200 `_bulk` answer may hold per-document failures: 409 is a copy already stored, 429 and 5xx are worth another try, the rest never succeed. */
export function judgeBulkAnswer(answer: Buffer): Verdict {
  let parsed: BulkAnswer;
  try {
    parsed = JSON.parse(answer.toString('utf8')) as BulkAnswer;
  } catch {
    return { kind: 'retry', reason: 'the _bulk answer is not JSON' };
  }
  if (!parsed.errors) return { kind: 'ok' };
  let retry: string | undefined;
  let refused: string | undefined;
  for (const item of parsed.items ?? []) {
    const result = Object.values(item)[0];
    const status = result?.status ?? 0;
    if (status < 300 || status === 409) continue;
    const reason = `${status} ${result?.error?.type ?? ''}: ${result?.error?.reason ?? ''}`;
    if (status === 429 || status >= 500) retry ??= reason;
    else refused ??= reason;
  }
  if (retry) return { kind: 'retry', reason: `documents not indexed (${retry})` };
  if (refused) return { kind: 'refused', reason: `documents refused (${refused})` };
  return { kind: 'ok' };
}

/** Elasticsearch or OpenSearch `_bulk` (or meshlog's). */
export function elasticsearchOutput(url: string, index: string): AgentOutput {
  return {
    name: 'elasticsearch',
    url,
    contentType: 'application/x-ndjson',
    contentEncoding: 'gzip',
    encode: encodeBulk(index),
    judge: judgeBulkAnswer,
  };
}
