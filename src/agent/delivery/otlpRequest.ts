import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { loadProtos } from '../../receivers/protoRoot.js';
import type { Batch } from './batchBuilder.js';

const root = loadProtos(['opentelemetry/proto/collector/logs/v1/logs_service.proto']);
const ExportLogsServiceRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const ExportLogsServiceResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
const gzipAsync = promisify(gzip);

export const agentScope = { name: 'meshlog-agent', version: '0.1.0' };

/** The batch as a gzip-compressed OTLP ExportLogsServiceRequest, one ResourceLogs per source (compressed off the main thread). */
export async function encodeBatch(batch: Batch): Promise<Buffer> {
  const resourceLogs = [];
  for (const [source, logRecords] of batch.bySource) {
    resourceLogs.push({ resource: { attributes: source.resource }, scopeLogs: [{ scope: agentScope, logRecords }] });
  }
  const protobuf = ExportLogsServiceRequest.encode({ resourceLogs }).finish();
  return gzipAsync(protobuf, { level: 1 });
}

/** Records the server rejected as invalid (partial_success), from its protobuf answer. */
export function rejectedRecords(response: Uint8Array): { rejected: number; message: string } {
  if (response.length === 0) return { rejected: 0, message: '' };
  const decoded = ExportLogsServiceResponse.toObject(ExportLogsServiceResponse.decode(response), { longs: Number }) as {
    partialSuccess?: { rejectedLogRecords?: number; errorMessage?: string };
  };
  return { rejected: decoded.partialSuccess?.rejectedLogRecords ?? 0, message: decoded.partialSuccess?.errorMessage ?? '' };
}
