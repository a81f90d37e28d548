import { newParsedLine, type ParsedLine } from './parsedLine.js';

interface Endpoint {
  identity?: number;
  cluster_name?: string;
  namespace?: string;
  pod_name?: string;
  workloads?: { name?: string; kind?: string }[];
}
interface Flow {
  time?: string;
  uuid?: string;
  verdict?: string;
  drop_reason_desc?: string;
  IP?: { source?: string; destination?: string; ipVersion?: string };
  l4?: Record<string, { source_port?: number; destination_port?: number }>;
  source?: Endpoint;
  destination?: Endpoint;
  Type?: string;
  l7?: { type?: string; latency_ns?: number | string; http?: { code?: number; method?: string; url?: string; protocol?: string } };
  traffic_direction?: string;
  node_name?: string;
  Summary?: string;
}

function endpoint(out: ParsedLine, side: 'source' | 'destination', value: Endpoint | undefined): void {
  if (!value) return;
  const workload = value.workloads?.[0]?.name ?? value.pod_name;
  if (workload) out.attributes[`mesh.${side}.workload`] = workload;
  if (value.namespace) out.attributes[`mesh.${side}.namespace`] = value.namespace;
  if (value.pod_name) out.attributes[`mesh.${side}.pod`] = value.pod_name;
  if (value.identity !== undefined) out.attributes[`mesh.${side}.identity`] = String(value.identity);
  if (value.cluster_name) out.attributes[`mesh.${side}.cluster`] = value.cluster_name;
}

/** A Cilium Hubble flow, as exported to events.log (`{"flow":{…},"node_name":…,"time":…}`) or bare. */
export function parseHubbleFlow(object: Record<string, unknown>): ParsedLine | undefined {
  const flow = (typeof object.flow === 'object' && object.flow !== null ? object.flow : object) as Flow;
  if (typeof flow.verdict !== 'string' || (flow.IP === undefined && flow.l7 === undefined && flow.Type === undefined)) return undefined;
  const out = newParsedLine('hubble_flow', 'cilium');
  out.time = flow.time ?? (typeof object.time === 'string' ? object.time : '');
  const attributes = out.attributes;
  attributes['mesh.verdict'] = flow.verdict;
  if (flow.drop_reason_desc) attributes['mesh.drop_reason'] = flow.drop_reason_desc;
  if (flow.uuid) attributes['mesh.flow.id'] = flow.uuid;
  if (flow.Type) attributes['mesh.flow.type'] = flow.Type;
  if (flow.traffic_direction) attributes['mesh.traffic_direction'] = flow.traffic_direction;
  if (flow.Summary) attributes['mesh.flow.summary'] = flow.Summary;
  const node = flow.node_name ?? object.node_name;
  if (typeof node === 'string') attributes['k8s.node.name'] = node;
  if (flow.IP?.source) attributes['source.address'] = flow.IP.source;
  if (flow.IP?.destination) attributes['destination.address'] = flow.IP.destination;
  for (const transport in flow.l4 ?? {}) {
    const ports = flow.l4![transport];
    attributes['network.transport'] = transport.toLowerCase();
    if (ports.source_port !== undefined) attributes['source.port'] = String(ports.source_port);
    if (ports.destination_port !== undefined) attributes['destination.port'] = String(ports.destination_port);
  }
  endpoint(out, 'source', flow.source);
  endpoint(out, 'destination', flow.destination);
  const l7 = flow.l7;
  if (l7) {
    if (l7.latency_ns !== undefined) attributes['mesh.duration_ms'] = String(Number(l7.latency_ns) / 1e6);
    if (l7.http?.method) attributes['http.request.method'] = l7.http.method;
    if (l7.http?.url) attributes['url.full'] = l7.http.url;
    if (l7.http?.code) attributes['http.response.status_code'] = String(l7.http.code);
    if (l7.http?.protocol) attributes['network.protocol.name'] = 'http';
    if (l7.type) attributes['mesh.l7.type'] = l7.type;
  }
  return out;
}
