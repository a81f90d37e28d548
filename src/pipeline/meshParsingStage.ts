import type { Stage } from './ingestPipeline.js';
import { normalizeRecord } from './normalize/normalizeRecord.js';
import { unwrapContainerRecords } from '../formats/containerRecords.js';
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

/** Why a body was stored as received: it is in no known format, or a parser failed on it. */
export type UnparsedReason = 'no_format' | 'parser_error';

/** The log attribute that flags a record stored unparsed; its value is the reason. */
export const parseStatusAttribute = 'meshlog.parse_status';

/** Called once per batch, receiver and reason with the number of records stored unparsed (the server makes it a metric). */
export type UnparsedReport = (receiver: string, reason: UnparsedReason, count: number) => void;

export interface MeshParsingOptions {
  /** Custom Envoy access log formats, tried before the built-in ones. */
  envoyFormats: EnvoyFormatOption[];
  /** Join stack traces sent one line per record. */
  multiline: boolean;
  reportUnparsed?: UnparsedReport;
}

/**
 * Parse and normalize: unwraps container runtime lines, joins stack traces,
 * recognises each body's format (Envoy/Istio/Kuma/Consul/App Mesh access logs,
 * Linkerd, Hubble, ingress-nginx, Traefik, JSON, logfmt) and fills time, severity,
 * trace context, mesh fields and service name. Bodies in no known format
 * are kept as they are, without a meshlog.format attribute, and flagged
 * (meshlog.parse_status = no_format, or parser_error when a parser failed).
 */
export function meshParsingStage(options: MeshParsingOptions): Stage {
  const custom = options.envoyFormats.map((format) => compileEnvoyFormat(format.format, format.name, format.mesh));
  return (input) => {
    let records = unwrapContainerRecords(input);
    if (options.multiline) records = joinStackTraceRecords(records);
    // Per reason, records stored unparsed per receiver.
    const unparsed: Record<UnparsedReason, Map<string, number>> = { no_format: new Map(), parser_error: new Map() };
    for (const record of records) {
      let reason: UnparsedReason | undefined;
      try {
        const parsed = detectAndParse(record.body, custom);
        if (parsed === undefined) reason = 'no_format';
        normalizeRecord(record, parsed);
      } catch (error) {
        // A line no parser foresaw must not cost the batch it came in: it is stored as received.
        record.attributes['meshlog.parse_error'] = (error as Error).message;
        reason = 'parser_error';
      }
      if (reason === undefined) continue;
      record.attributes[parseStatusAttribute] = reason;
      const counts = unparsed[reason];
      counts.set(record.receiver, (counts.get(record.receiver) ?? 0) + 1);
    }
    if (options.reportUnparsed) {
      for (const reason of ['no_format', 'parser_error'] as const) {
        for (const [receiver, count] of unparsed[reason]) options.reportUnparsed(receiver, reason, count);
      }
    }
    return records;
  };
}
