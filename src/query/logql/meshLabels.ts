import type { MeshFields } from '../../model/logRecord.js';

/**
 * The mesh columns of an access-log record as LogQL labels. Like Loki's
 * structured metadata they belong to the line, not to its stream: each
 * line's own workloads, status and duration. The low-cardinality ones may
 * also appear in a stream selector (`{mesh="istio"}`), as detected_level may.
 * A label is absent when the column holds "unknown": an empty string, a zero
 * status, or any numeric field of a record that is not an access log.
 */
export const meshSelectorLabels = new Set(['mesh', 'platform', 'cluster', 'source_workload', 'destination_workload', 'protocol']);

/** Each label's value as ClickHouse computes it from the row ('' = absent). */
const meshLabelSql: Record<string, string> = {
  mesh: 'mesh',
  platform: 'platform',
  cluster: 'cluster',
  source_workload: 'source_workload',
  destination_workload: 'destination_workload',
  protocol: 'protocol',
  response_code: "if(response_code != 0, toString(response_code), '')",
  duration_ms: "if(mesh != '', toString(duration_ms), '')",
  bytes_sent: "if(mesh != '', toString(bytes_sent), '')",
  bytes_received: "if(mesh != '', toString(bytes_received), '')",
  request_id: 'request_id',
};

export function isMeshLabel(name: string): boolean {
  return Object.hasOwn(meshLabelSql, name);
}

/** The SQL value of one mesh label. */
export function meshLabelColumnSql(name: string): string {
  return meshLabelSql[name];
}

/** All mesh labels of a row as one Map(String, String) column, absent ones left out. */
export const meshLabelsSql = `mapFilter((k, v) -> v != '', map(${Object.entries(meshLabelSql)
  .map(([name, sql]) => `'${name}', toString(${sql})`)
  .join(', ')}))`;

/** The same labels computed from a record in memory (live tail), as the SQL above computes them from its row. */
export function meshLabelsOf(mesh: MeshFields | undefined): Record<string, string> {
  if (!mesh) return {};
  const isAccessLog = mesh.mesh !== '';
  const values: Record<string, string> = {
    mesh: mesh.mesh,
    platform: mesh.platform,
    cluster: mesh.cluster,
    source_workload: mesh.sourceWorkload,
    destination_workload: mesh.destinationWorkload,
    protocol: mesh.protocol,
    response_code: mesh.responseCode !== 0 ? String(mesh.responseCode) : '',
    duration_ms: isAccessLog ? String(mesh.durationMs) : '',
    bytes_sent: isAccessLog ? String(mesh.bytesSent) : '',
    bytes_received: isAccessLog ? String(mesh.bytesReceived) : '',
    request_id: mesh.requestId,
  };
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== ''));
}
