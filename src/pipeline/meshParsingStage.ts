import type { Stage } from './ingestPipeline.js';
import { normalizeRecord } from './normalize/normalizeRecord.js';
import { unwrapContainerRecords } from './parse/containerRecords.js';
import { detectAndParse } from './parse/detectFormat.js';
import { compileEnvoyFormat } from './parse/envoyFormat.js';
import { joinStackTraceRecords } from './parse/stackTraceRecords.js';

export interface EnvoyFormatOption {
  /** Recorded as the record's meshlog.format. */
  name: string;
  /** An Envoy `text_format` string (`[%START_TIME%] "%REQ(:METHOD)% …`). */
  format: string;
  mesh: string;
}

export interface MeshParsingOptions {
  /** Custom Envoy access log formats, tried before the built-in ones. */
  envoyFormats: EnvoyFormatOption[];
  /** Join stack traces sent one line per record. */
  multiline: boolean;
}

/**
 * Parse and normalize: unwraps container runtime lines, joins stack traces,
 * recognises each body's format (Envoy/Istio/Kuma/Consul access logs,
 * Linkerd, Hubble, ingress-nginx, JSON, logfmt) and fills time, severity,
 * trace context, mesh fields and service name. Bodies in no known format
 * are kept as they are, without a meshlog.format attribute.
 */
export function meshParsingStage(options: MeshParsingOptions): Stage {
  const custom = options.envoyFormats.map((format) => compileEnvoyFormat(format.format, format.name, format.mesh));
  return (input) => {
    let records = unwrapContainerRecords(input);
    if (options.multiline) records = joinStackTraceRecords(records);
    for (const record of records) {
      try {
        normalizeRecord(record, detectAndParse(record.body, custom));
      } catch (error) {
        // A line no parser foresaw must not cost the batch it came in: it is stored as received.
        record.attributes['meshlog.parse_error'] = (error as Error).message;
      }
    }
    return records;
  };
}
