import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newLogRecord } from '../../../src/model/logRecord.js';
import { severityOfResponseFlags } from '../../../src/pipeline/normalize/exchangeSeverity.js';
import { normalizeRecord } from '../../../src/pipeline/normalize/normalizeRecord.js';
import { detectAndParse } from '../../../src/pipeline/parse/detectFormat.js';
import { directionOfCluster, meshOfCluster } from '../../../src/pipeline/parse/upstreamCluster.js';
import { goldenLines } from '../../support/goldenLines.js';

/** Hubble flows, Istio gRPC JSON and TCP lines and the Envoy docs line, each credited in its fixture. */
const lineWith = goldenLines(['hubble.json', 'envoyJson.json', 'istio.json', 'envoy.json']);

/** What ingest stores for one line: the parsed fields normalized into a record. */
function recordOf(line: string, resource: Record<string, string> = {}) {
  const record = newLogRecord({ tenant: 't', body: line, receiver: 'test', resource });
  normalizeRecord(record, detectAndParse(line, []));
  return record;
}

test('a gRPC call that ended Unavailable or Internal over HTTP 200 is an error, one that ended OK is info, and the gRPC code is kept', () => {
  const cases: [string, string, number][] = [
    ['"grpc_status":"OK"', '0', 9],
    ['"grpc_status":"Unavailable"', '14', 17],
    ['"grpc_status":"Internal"', '13', 17],
  ];
  for (const [marker, code, severity] of cases) {
    const record = recordOf(lineWith(marker));
    assert.equal(record.mesh?.responseCode, 200, `${marker}: the HTTP status stays the status`);
    assert.equal(record.attributes['rpc.grpc.status_code'], code, marker);
    assert.equal(record.mesh?.protocol, 'grpc', marker);
    assert.equal(record.severityNumber, severity, marker);
    assert.equal(record.severityText, severity === 17 ? 'ERROR' : 'INFO', marker);
  }
  const unavailable = recordOf(lineWith('"grpc_status":"Unavailable"'));
  assert.equal(unavailable.mesh?.mesh, 'istio');
  assert.equal(unavailable.mesh?.destinationWorkload, 'mock-server.default');
  assert.equal(unavailable.mesh?.requestId, '36a44aa4-990b-9db5-8c98-d00d5b7acbf8');
  assert.equal(unavailable.attributes['mesh.response_flags'], 'UH');
});

test('an Istio TCP connection has no status, keeps bytes and duration, is tcp and info', () => {
  const record = recordOf(lineWith('839 2504306 231'));
  assert.equal(record.attributes['http.response.status_code'], undefined, 'Envoy writes 0 for no response: no fake status');
  assert.equal(record.attributes['network.transport'], 'tcp');
  assert.deepEqual(
    { ...record.mesh },
    {
      mesh: 'istio',
      platform: '',
      cluster: '',
      sourceWorkload: '',
      destinationWorkload: 'edition.cnn',
      protocol: 'tcp',
      responseCode: 0,
      durationMs: 231,
      bytesSent: 2504306,
      bytesReceived: 839,
      requestId: '',
    },
  );
  assert.equal(record.severityNumber, 9);
  assert.equal(record.timeUnixNano, 1705007382835000000n);
});

test('a connection without a status takes its level from the response flags: upstream failures error, client-side ends warn', () => {
  assert.equal(severityOfResponseFlags('UF,URX'), 17);
  assert.equal(severityOfResponseFlags('UH'), 17);
  assert.equal(severityOfResponseFlags('DC'), 13);
  assert.equal(severityOfResponseFlags('DI'), 0, 'an injected delay is no failure');
  assert.equal(severityOfResponseFlags('-'), 0);
  // The istio.io TCP line as Envoy writes it when the upstream connect fails and retries run out (flag field UF,URX).
  const failed = lineWith('839 2504306 231').replace('"- - -" 0 - - - "-"', '"- - -" 0 UF,URX - - "-"');
  const record = recordOf(failed);
  assert.equal(record.attributes['mesh.response_flags'], 'UF,URX');
  assert.equal(record.mesh?.responseCode, 0);
  assert.equal(record.severityNumber, 17);
});

test('a Hubble HTTP reply names the caller as source and brings status, latency, B3 trace and request id into the record', () => {
  const record = recordOf(lineWith('"X-B3-Traceid","value":"667a64ad10eacf5d83a5d3016a069a86"'));
  assert.equal(record.traceId, '667a64ad10eacf5d83a5d3016a069a86');
  assert.equal(record.spanId, '83a5d3016a069a86');
  assert.equal(record.traceFlags & 1, 0, 'X-B3-Sampled: 0');
  assert.deepEqual(
    { ...record.mesh },
    {
      mesh: 'cilium',
      platform: '',
      cluster: '',
      sourceWorkload: 'ratings',
      destinationWorkload: 'world',
      protocol: 'http/1.1',
      responseCode: 200,
      durationMs: 40.3922,
      bytesSent: 0,
      bytesReceived: 0,
      requestId: '2e62dbe4-3e39-4c22-a83d-b1fd6f4ab5cb',
    },
  );
  assert.equal(record.severityNumber, 9);
  assert.equal(record.attributes['mesh.traffic_direction'], 'EGRESS');
  assert.equal(record.attributes['url.path'], '/productpage');
  assert.equal(record.attributes['http.request.header.x-istio-attributes'], undefined, 'headers that are no telemetry are not copied');
  assert.equal(record.timeUnixNano, 1633357856507275600n);
  assert.equal(recordOf(lineWith('"code":503,"method":"GET","url":"http://10.128.0.6:9990/metrics"')).severityNumber, 17);
});

test('Hubble DROPPED flows are warnings with their drop reason, forwarded L3/L4 flows info with their transport', () => {
  const denied = recordOf(lineWith('"drop_reason_desc":"POLICY_DENIED"'));
  assert.equal(denied.severityNumber, 13);
  assert.equal(denied.severityText, 'WARN');
  assert.equal(denied.attributes['mesh.verdict'], 'DROPPED');
  assert.equal(denied.attributes['mesh.drop_reason'], 'POLICY_DENIED');
  assert.equal(denied.mesh?.sourceWorkload, 'xwing');
  assert.equal(denied.mesh?.protocol, 'tcp');
  const icmp = recordOf(lineWith('"drop_reason_desc":"INVALID_SOURCE_IP"'));
  assert.equal(icmp.attributes['network.transport'], 'icmpv6');
  assert.equal(icmp.severityNumber, 13);
  const syn = recordOf(lineWith('"traffic_direction":"INGRESS"'));
  assert.equal(syn.severityNumber, 9);
  assert.equal(syn.mesh?.sourceWorkload, 'host', "Cilium's reserved:host identity");
  assert.equal(syn.mesh?.destinationWorkload, 'kube-dns', 'the k8s-app label when Hubble names no workload');
  assert.equal(syn.attributes['mesh.traffic_direction'], 'INGRESS');
});

test('Hubble DNS: the query, answers and response code are kept; NXDOMAIN is an answer, not an error', () => {
  const answer = recordOf(lineWith('"ips":["10.160.9.50"]'));
  assert.equal(answer.attributes['dns.question.name'], 'reviews.bookinfo.svc.cluster.local.');
  assert.equal(answer.attributes['dns.answers'], '10.160.9.50');
  assert.equal(answer.attributes['dns.response_code'], 'NOERROR');
  assert.equal(answer.mesh?.protocol, 'dns');
  assert.equal(answer.mesh?.sourceWorkload, 'node-local-dns', 'the asking side, though the answer flows from kube-dns');
  const nxdomain = recordOf(lineWith('"rcode":3'));
  assert.equal(nxdomain.attributes['dns.response_code'], 'NXDOMAIN');
  assert.equal(nxdomain.severityNumber, 9);
  const query = recordOf(lineWith('"DNS Query istiod-istio-1611'));
  assert.equal(query.attributes['dns.response_code'], undefined, 'a query has no answer yet');
});

test('App Mesh and Consul clusters name their mesh and the way a request went', () => {
  // Cluster names from aws/aws-app-mesh-examples walkthroughs/howto-circuit-breakers and aws-app-mesh-roadmap#362,
  // and hashicorp/consul agent/xds/testdata/listeners/access-logs-defaults.latest.golden.
  assert.equal(meshOfCluster('cds_egress_cb-mesh_colorteller-white-vn_http_9080'), 'appmesh');
  assert.deepEqual(directionOfCluster('cds_egress_cb-mesh_colorteller-white-vn_http_9080'), {
    outbound: true,
    peer: 'colorteller-white-vn',
  });
  assert.deepEqual(directionOfCluster('cds_ingress_cb-mesh_colorgateway-vg_self_redirect_http_15001'), { outbound: false, peer: '' });
  assert.deepEqual(directionOfCluster('cds_egress_scoreboard-8801183_mesh-allow-all'), { outbound: true, peer: '' });
  assert.equal(meshOfCluster('db.default.dc1.internal.11111111-2222-3333-4444-555555555555.consul'), 'consul');
  assert.deepEqual(directionOfCluster('db.default.dc1.internal.11111111-2222-3333-4444-555555555555.consul'), {
    outbound: true,
    peer: 'db.default',
  });
  assert.equal(meshOfCluster('local_app'), 'consul');
  assert.deepEqual(directionOfCluster('local_app'), { outbound: false, peer: '' });
  assert.equal(meshOfCluster('outbound|8000||httpbin.foo.svc.cluster.local'), 'istio');
  assert.equal(meshOfCluster('backend_cluster'), undefined);
});

test("an Envoy default-format line is App Mesh's or Consul's when the container that wrote it says so, and plain Envoy otherwise", () => {
  const line = lineWith('[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204');
  assert.equal(
    recordOf(line, { 'container.image.name': '840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy' }).mesh?.mesh,
    'appmesh',
  );
  assert.equal(recordOf(line, { 'k8s.container.name': 'consul-dataplane' }).mesh?.mesh, 'consul');
  assert.equal(recordOf(line, { 'k8s.container.name': 'envoy' }).mesh?.mesh, 'envoy');
  assert.equal(recordOf(line).mesh?.mesh, 'envoy');
  // Another mesh's own format is never renamed by its container.
  assert.equal(recordOf(lineWith('"grpc_status":"OK"'), { 'container.image.name': 'aws-appmesh-envoy' }).mesh?.mesh, 'istio');
});
