import type { MeshFields } from '../../model/logRecord.js';
import { platformOf } from '../../model/platform.js';
import type { ParsedLine } from '../parse/parsedLine.js';
import { directionOfCluster } from '../parse/upstreamCluster.js';
import { requestIdOf } from './traceContext.js';

/** Storage columns are unsigned: a malformed or out-of-range field becomes 0, never a failed insert. */
function numberOf(value: string | undefined, max: number, integer: boolean): number {
  if (value === undefined) return 0;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0 || number > max) return 0;
  return integer ? Math.trunc(number) : number;
}

/** Linkerd identities `<serviceaccount>.<namespace>.serviceaccount.identity.linkerd.<trust domain>` → `<sa>.<ns>`. */
function workloadOfIdentity(identity: string): string {
  const marker = identity.indexOf('.serviceaccount.identity.');
  return marker < 0 ? identity : identity.slice(0, marker);
}

/**
 * A plain Envoy line (default format) does not say which control plane
 * configured the proxy; the container it came from does: App Mesh's Envoy
 * image, Consul's dataplane or sidecar container.
 */
function meshOf(parsed: ParsedLine, resource: Record<string, string>): string {
  if (parsed.mesh !== 'envoy') return parsed.mesh;
  const image = resource['container.image.name'] ?? resource.container_image ?? '';
  if (image.includes('aws-appmesh-envoy')) return 'appmesh';
  const container = resource['k8s.container.name'] ?? resource.container_name ?? resource.container ?? '';
  if (image.includes('consul-dataplane') || container === 'consul-dataplane' || container === 'envoy-sidecar') return 'consul';
  return parsed.mesh;
}

function protocolOf(attributes: Record<string, string>): string {
  if (attributes['rpc.grpc.status_code'] !== undefined) return 'grpc';
  const name = attributes['network.protocol.name'];
  if (name !== undefined) {
    const version = attributes['network.protocol.version'];
    return version === undefined ? name : `${name}/${version}`;
  }
  return attributes['network.transport'] ?? (attributes['mesh.flow.type'] === 'L3_L4' ? 'l4' : '');
}

/**
 * The mesh fields of a parsed access log or flow. `self` is the service of
 * the record (the workload whose proxy wrote the line): it is the source of
 * an outbound request and the destination of an inbound one.
 */
export function meshFieldsOf(
  parsed: ParsedLine,
  resource: Record<string, string>,
  attributes: Record<string, string>,
  self: string,
): MeshFields {
  let source = attributes['mesh.source.workload'] ?? '';
  let destination = attributes['mesh.destination.workload'] ?? '';
  const cluster = attributes['mesh.upstream.cluster'];
  const direction = cluster === undefined ? undefined : directionOfCluster(cluster);
  if (direction?.outbound) {
    source ||= self;
    destination ||= direction.peer;
  } else if (direction) {
    destination ||= self;
  } else if (parsed.mesh === 'linkerd' && attributes['mesh.source.identity'] !== undefined) {
    source ||= workloadOfIdentity(attributes['mesh.source.identity']);
    destination ||= self;
  }
  return {
    mesh: meshOf(parsed, resource),
    platform: platformOf(resource),
    cluster: resource['k8s.cluster.name'] ?? attributes['mesh.source.cluster'] ?? '',
    sourceWorkload: source,
    destinationWorkload: destination,
    protocol: protocolOf(attributes),
    responseCode: numberOf(attributes['http.response.status_code'], 999, true),
    durationMs: numberOf(attributes['mesh.duration_ms'], Number.MAX_VALUE, false),
    bytesSent: numberOf(attributes['mesh.bytes_sent'], Number.MAX_SAFE_INTEGER, true),
    bytesReceived: numberOf(attributes['mesh.bytes_received'], Number.MAX_SAFE_INTEGER, true),
    requestId: requestIdOf(attributes),
  };
}
