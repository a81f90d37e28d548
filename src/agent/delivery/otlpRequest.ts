import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { loadProtos } from '../../formats/protoRoot.js';
import type { KeyValue } from '../source.js';
import type { Batch } from './batchBuilder.js';
import { ProtoWriter } from './protoWriter.js';

const root = loadProtos(['opentelemetry/proto/collector/logs/v1/logs_service.proto']);
const ExportLogsServiceRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const ExportLogsServiceResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
const gzipAsync = promisify(gzip);

export const agentScope = { name: 'meshlog-agent', version: '0.1.0' };

/** One KeyValue with a string value, as protobuf fields of `field`. */
function writeKeyValue(writer: ProtoWriter, field: number, { key, value }: KeyValue): void {
  const keyValue = writer.begin(field);
  writer.string(1, key);
  const anyValue = writer.begin(2);
  writer.string(1, value.stringValue);
  writer.end(anyValue);
  writer.end(keyValue);
}

/** The protobuf ExportLogsServiceRequest of a batch, one ResourceLogs per source. */
export function encodeRequest(batch: Batch): Buffer {
  const writer = new ProtoWriter(batch.records * 256 + 4096);
  for (const [source, logRecords] of batch.bySource) {
    const resourceLogs = writer.begin(1);
    const resource = writer.begin(1);
    for (const attribute of source.resource) writeKeyValue(writer, 1, attribute);
    writer.end(resource);
    const scopeLogs = writer.begin(2);
    const scope = writer.begin(1);
    writer.string(1, agentScope.name);
    writer.string(2, agentScope.version);
    writer.end(scope);
    for (const record of logRecords) {
      const logRecord = writer.begin(2);
      if (record.timeUnixNano) writer.fixed64(1, record.timeUnixNano.low, record.timeUnixNano.high);
      if (record.severityNumber) writer.uint32(2, record.severityNumber);
      if (record.severityText) writer.string(3, record.severityText);
      const body = writer.begin(5);
      writer.string(1, record.body.stringValue);
      writer.end(body);
      for (const attribute of record.attributes) writeKeyValue(writer, 6, attribute);
      writer.fixed64(11, record.observedTimeUnixNano.low, record.observedTimeUnixNano.high);
      writer.end(logRecord);
    }
    writer.end(scopeLogs);
    writer.end(resourceLogs);
  }
  return writer.finish();
}

/** The batch as a gzip-compressed OTLP ExportLogsServiceRequest (compressed off the main thread). */
export async function encodeBatch(batch: Batch): Promise<Buffer> {
  return gzipAsync(encodeRequest(batch), { level: 1 });
}

/** Records the server rejected as invalid (partial_success), from its protobuf answer. */
export function rejectedRecords(response: Uint8Array): { rejected: number; message: string } {
  if (response.length === 0) return { rejected: 0, message: '' };
  const decoded = ExportLogsServiceResponse.toObject(ExportLogsServiceResponse.decode(response), { longs: Number }) as {
    partialSuccess?: { rejectedLogRecords?: number; errorMessage?: string };
  };
  return { rejected: decoded.partialSuccess?.rejectedLogRecords ?? 0, message: decoded.partialSuccess?.errorMessage ?? '' };
}
