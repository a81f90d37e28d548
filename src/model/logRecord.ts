/**
 * The one record type every receiver produces and every later stage consumes:
 * the OpenTelemetry log data model plus tenant, mesh fields and provenance.
 * Integrity coordinates (chain, batch sequence, position) are assigned by the
 * writer at commit, not here.
 */
export interface LogRecord {
  tenant: string;
  /** Event time, nanoseconds since the Unix epoch. */
  timeUnixNano: bigint;
  /** When meshlog (or the collecting agent) first saw the record. */
  observedTimeUnixNano: bigint;
  /** OpenTelemetry severity number, 0 = unspecified, 1..24. */
  severityNumber: number;
  severityText: string;
  body: string;
  serviceName: string;
  resource: Record<string, string>;
  scopeName: string;
  scopeVersion: string;
  attributes: Record<string, string>;
  /** 32 lowercase hex characters, or empty. */
  traceId: string;
  /** 16 lowercase hex characters, or empty. */
  spanId: string;
  traceFlags: number;
  eventName: string;
  mesh: MeshFields | undefined;
  /** Name of the receiver that accepted the record (otlp_http, loki, …). */
  receiver: string;
  /**
   * The sender's timestamp is the entry's own time, kept whatever the line
   * says (Loki push, as Loki keeps it); otherwise a time parsed from the
   * line is the event time and replaces the sender's (a shipper's read time).
   */
  timeIsEntryTime?: boolean;
  /** Id of the log template the record's body belongs to, set by the pattern stage; absent when mining is off. */
  patternId?: string;
}

/** What a mesh access log says about one request; zero/empty when unknown. */
export interface MeshFields {
  mesh: string;
  platform: string;
  cluster: string;
  sourceWorkload: string;
  destinationWorkload: string;
  protocol: string;
  responseCode: number;
  durationMs: number;
  bytesSent: number;
  bytesReceived: number;
  requestId: string;
}

export function emptyMeshFields(): MeshFields {
  return {
    mesh: '',
    platform: '',
    cluster: '',
    sourceWorkload: '',
    destinationWorkload: '',
    protocol: '',
    responseCode: 0,
    durationMs: 0,
    bytesSent: 0,
    bytesReceived: 0,
    requestId: '',
  };
}

/** A record with every field present, for receivers that only know a few. */
export function newLogRecord(fields: Partial<LogRecord> & Pick<LogRecord, 'tenant' | 'body' | 'receiver'>): LogRecord {
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    timeUnixNano: fields.timeUnixNano ?? now,
    observedTimeUnixNano: fields.observedTimeUnixNano ?? now,
    severityNumber: fields.severityNumber ?? 0,
    severityText: fields.severityText ?? '',
    serviceName: fields.serviceName ?? '',
    resource: fields.resource ?? {},
    scopeName: fields.scopeName ?? '',
    scopeVersion: fields.scopeVersion ?? '',
    attributes: fields.attributes ?? {},
    traceId: fields.traceId ?? '',
    spanId: fields.spanId ?? '',
    traceFlags: fields.traceFlags ?? 0,
    eventName: fields.eventName ?? '',
    mesh: fields.mesh,
    tenant: fields.tenant,
    body: fields.body,
    receiver: fields.receiver,
    patternId: fields.patternId,
    // Present only where true: most receivers never set it.
    ...(fields.timeIsEntryTime && { timeIsEntryTime: true }),
  };
}
