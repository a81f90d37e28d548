import { setProtocol, setUrl } from './fieldSetters.js';
import { newParsedLine, type ParsedLine } from './parsedLine.js';

interface Endpoint {
  identity?: number;
  cluster_name?: string;
  namespace?: string;
  labels?: unknown;
  pod_name?: string;
  workloads?: { name?: string; kind?: string }[];
}
interface HttpHeader {
  key?: unknown;
  value?: unknown;
}
interface Flow {
  time?: string;
  uuid?: string;
  verdict?: string;
  drop_reason_desc?: string;
  IP?: { source?: string; destination?: string; ipVersion?: string };
  l4?: Record<string, { source_port?: number; destination_port?: number } | null>;
  source?: Endpoint;
  destination?: Endpoint;
  Type?: string;
  l7?: {
    type?: string;
    latency_ns?: number | string;
    http?: { code?: number; method?: string; url?: string; protocol?: string; headers?: unknown };
    dns?: { query?: string; ips?: unknown; rcode?: number; qtypes?: unknown };
  };
  trace_context?: { parent?: { trace_id?: string } };
  traffic_direction?: string;
  is_reply?: boolean;
  node_name?: string;
  Summary?: string;
}

/**
 * Request headers kept from an L7 flow: trace context, request id and user
 * agent. Others (cookies, authorization…) are not copied: a flow carries
 * every header Envoy saw, and most are payload, not telemetry.
 */
const keptHeaders: Record<string, string> = {
  traceparent: 'http.request.header.traceparent',
  tracestate: 'http.request.header.tracestate',
  b3: 'http.request.header.b3',
  'x-b3-traceid': 'http.request.header.x-b3-traceid',
  'x-b3-spanid': 'http.request.header.x-b3-spanid',
  'x-b3-sampled': 'http.request.header.x-b3-sampled',
  'x-request-id': 'http.request.header.x-request-id',
  'user-agent': 'user_agent.original',
};

/** DNS response codes (RFC 1035 and 2136) by number, as Hubble reports them. */
const dnsResponseCodes = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];

/** Labels naming an endpoint's application, most specific first (`k8s:app.kubernetes.io/name=cart`, `k8s:app=cart`). */
const appLabels = ['k8s:app.kubernetes.io/name=', 'k8s:app=', 'k8s:k8s-app='];

/**
 * The workload of an endpoint: the controller Hubble names (`workloads`,
 * Cilium 1.13+), else its app label, else Cilium's reserved identity
 * (`reserved:world`, `reserved:host`), else the pod.
 */
function workloadOf(value: Endpoint): string | undefined {
  const named = Array.isArray(value.workloads) ? value.workloads[0]?.name : undefined;
  if (typeof named === 'string' && named.length > 0) return named;
  const labels = Array.isArray(value.labels) ? value.labels.filter((label): label is string => typeof label === 'string') : [];
  for (const prefix of appLabels) {
    const label = labels.find((candidate) => candidate.startsWith(prefix));
    if (label) return label.slice(prefix.length);
  }
  const reserved = labels.find((candidate) => candidate.startsWith('reserved:'));
  return reserved ? reserved.slice('reserved:'.length) : value.pod_name;
}

/** A JSON value as attribute text: strings as they are, numbers written out, anything else (a mangled line) left out. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

function put(attributes: Record<string, string>, name: string, value: unknown): void {
  const attribute = text(value);
  if (attribute !== undefined) attributes[name] = attribute;
}

function endpoint(out: ParsedLine, side: 'source' | 'destination', value: Endpoint | undefined): void {
  if (typeof value !== 'object' || value === null) return;
  const attributes = out.attributes;
  put(attributes, `mesh.${side}.workload`, workloadOf(value));
  put(attributes, `mesh.${side}.namespace`, value.namespace);
  put(attributes, `mesh.${side}.pod`, value.pod_name);
  put(attributes, `mesh.${side}.identity`, value.identity);
  put(attributes, `mesh.${side}.cluster`, value.cluster_name);
}

function httpFields(out: ParsedLine, http: NonNullable<NonNullable<Flow['l7']>['http']>): void {
  const attributes = out.attributes;
  if (typeof http.method === 'string') attributes['http.request.method'] = http.method;
  if (typeof http.url === 'string' && http.url.length > 0) setUrl(http.url, out);
  const code = text(http.code);
  if (code !== undefined && code !== '0') attributes['http.response.status_code'] = code;
  if (typeof http.protocol === 'string' && http.protocol.length > 0) setProtocol(http.protocol, out);
  if (!Array.isArray(http.headers)) return;
  for (const header of http.headers as HttpHeader[]) {
    if (typeof header?.key !== 'string' || typeof header.value !== 'string') continue;
    const name = keptHeaders[header.key.toLowerCase()];
    if (name) attributes[name] = header.value;
  }
}

function dnsFields(out: ParsedLine, dns: NonNullable<NonNullable<Flow['l7']>['dns']>, isResponse: boolean): void {
  const attributes = out.attributes;
  attributes['network.protocol.name'] = 'dns';
  if (typeof dns.query === 'string') attributes['dns.question.name'] = dns.query;
  if (Array.isArray(dns.qtypes)) attributes['dns.question.type'] = dns.qtypes.map(String).join(',');
  if (Array.isArray(dns.ips) && dns.ips.length > 0) attributes['dns.answers'] = dns.ips.map(String).join(',');
  // proto3 JSON leaves out a zero rcode: a response without one is NOERROR.
  if (!isResponse) return;
  const rcode = typeof dns.rcode === 'number' ? dns.rcode : 0;
  attributes['dns.response_code'] = dnsResponseCodes[rcode] ?? String(rcode);
  // A name that does not exist is an answer (Kubernetes search paths make many); a server that failed or refused is not.
  if (rcode === 2 || rcode === 5) out.level = 'WARN';
}

/**
 * A Cilium Hubble flow (`hubble observe -o json`, or the exporter's
 * events.log `{"flow":{…},"node_name":…,"time":…}`, or bare): verdict and
 * drop reason, direction, addresses and ports, source and destination
 * workloads (the caller as source, also on reply flows, whose packets go
 * the other way; addresses and ports stay as the packet has them), and the L7 record Envoy or the DNS proxy gave (HTTP method, URL,
 * status, latency, trace headers; DNS query, answers, response code).
 * DROPPED flows are warnings and ERROR flows errors; the rest take their level
 * from the HTTP status, or info.
 */
export function parseHubbleFlow(object: Record<string, unknown>): ParsedLine | undefined {
  const flow = (typeof object.flow === 'object' && object.flow !== null ? object.flow : object) as Flow;
  if (typeof flow.verdict !== 'string' || (flow.IP === undefined && flow.l7 === undefined && flow.Type === undefined)) return undefined;
  const out = newParsedLine('hubble_flow', 'cilium');
  out.time = typeof flow.time === 'string' ? flow.time : typeof object.time === 'string' ? object.time : '';
  const attributes = out.attributes;
  attributes['mesh.verdict'] = flow.verdict;
  if (flow.verdict === 'DROPPED') out.level = 'WARN';
  else if (flow.verdict === 'ERROR') out.level = 'ERROR';
  put(attributes, 'mesh.drop_reason', flow.drop_reason_desc);
  put(attributes, 'mesh.flow.id', flow.uuid);
  put(attributes, 'mesh.flow.type', flow.Type);
  put(attributes, 'mesh.traffic_direction', flow.traffic_direction);
  put(attributes, 'mesh.flow.summary', flow.Summary);
  put(attributes, 'k8s.node.name', flow.node_name ?? object.node_name);
  put(attributes, 'source.address', flow.IP?.source);
  put(attributes, 'destination.address', flow.IP?.destination);
  if (typeof flow.is_reply === 'boolean') attributes['mesh.flow.is_reply'] = String(flow.is_reply);
  for (const transport in flow.l4 ?? {}) {
    const ports = flow.l4![transport];
    attributes['network.transport'] = transport.toLowerCase();
    if (typeof ports !== 'object' || ports === null) continue;
    put(attributes, 'source.port', ports.source_port);
    put(attributes, 'destination.port', ports.destination_port);
  }
  // mesh.source is the side that called (meshlog's source workload): a reply flow travels from the called side back.
  const reply = flow.is_reply === true;
  endpoint(out, reply ? 'destination' : 'source', flow.source);
  endpoint(out, reply ? 'source' : 'destination', flow.destination);
  put(attributes, 'mesh.trace_id', flow.trace_context?.parent?.trace_id);
  const l7 = flow.l7;
  if (typeof l7 === 'object' && l7 !== null) {
    put(attributes, 'mesh.l7.type', l7.type);
    // latency_ns is a uint64: proto3 JSON writes it as a string.
    const latency = Number(l7.latency_ns);
    if (l7.latency_ns !== undefined && l7.latency_ns !== null && Number.isFinite(latency))
      attributes['mesh.duration_ms'] = String(latency / 1e6);
    if (typeof l7.http === 'object' && l7.http !== null) httpFields(out, l7.http);
    if (typeof l7.dns === 'object' && l7.dns !== null) dnsFields(out, l7.dns, l7.type === 'RESPONSE');
  }
  return out;
}
