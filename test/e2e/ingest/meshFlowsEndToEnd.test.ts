import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import { waitFor } from '../../support/waitFor.js';
import { goldenLines } from '../../support/goldenLines.js';

interface Row {
  service_name: string;
  severity_number: number;
  mesh: string;
  protocol: string;
  response_code: number;
  source_workload: string;
  destination_workload: string;
  bytes_sent: number;
  trace_id: string;
  request_id: string;
}

interface QueryStream {
  stream: Record<string, string>;
  values: [string, string][];
}

/** Golden lines from public sources (credited in the fixtures), looked up by a marker. */
const lineWith = goldenLines(['hubble.json', 'envoyJson.json', 'istio.json', 'envoy.json']);

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog({ dataDir: tempDataDir() });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

/** Pushes streams to Loki as tenant acme. */
async function push(streams: { stream: Record<string, string>; values: string[][] }[]): Promise<void> {
  const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'X-Scope-OrgID': 'acme', 'Content-Type': 'application/json' },
    body: JSON.stringify({ streams }),
  });
  assert.equal(response.status, 204, await response.text());
}

/** A LogQL query over two seconds around `timeNs` (lines are pushed at their own time, years back). */
async function query(logql: string, timeNs: bigint): Promise<QueryStream[]> {
  const range = `start=${timeNs - 1_000_000_000n}&end=${timeNs + 1_000_000_000n}&limit=100&direction=forward`;
  const response = await fetch(`${meshlog.url}/loki/api/v1/query_range?query=${encodeURIComponent(logql)}&${range}`, {
    headers: { Authorization: `Bearer ${meshlog.token}`, 'X-Scope-OrgID': 'acme' },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return (JSON.parse(text) as { data: { result: QueryStream[] } }).data.result;
}

/** The one stream, with one line, a LogQL query finds once the pushed batch is queryable. */
async function only(logql: string, iso: string): Promise<QueryStream> {
  const time = BigInt(Date.parse(iso)) * 1_000_000n;
  const streams = await waitFor(
    async () => {
      const found = await query(logql, time);
      return found.length > 0 ? found : undefined;
    },
    { what: `${logql} to find its line` },
  );
  assert.equal(streams.length, 1, logql);
  assert.equal(streams[0].values.length, 1, logql);
  return streams[0];
}

test('Hubble flows, gRPC and TCP access lines, App Mesh and Consul Envoy lines pushed to Loki come back from LogQL with their normalized labels', async () => {
  const sent = {
    hubble_http: lineWith('"X-B3-Traceid","value":"667a64ad10eacf5d83a5d3016a069a86"'),
    hubble_drop: lineWith('"drop_reason_desc":"POLICY_DENIED"'),
    hubble_dns: lineWith('"ips":["10.160.9.50"]'),
    grpc_unavailable: lineWith('"grpc_status":"Unavailable"'),
    grpc_ok: lineWith('"grpc_status":"OK"'),
    istio_tcp: lineWith('839 2504306 231'),
    envoy: lineWith('[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204'),
  };
  // Each entry's timestamp is its line's time to the millisecond, as a Promtail `timestamp` stage sets it: Loki's push keeps it.
  const pushTime: Record<keyof typeof sent, string> = {
    hubble_http: '2021-10-04T14:30:56.507Z',
    hubble_drop: '2023-08-21T12:12:18.510Z',
    hubble_dns: '2021-10-04T11:26:39.194Z',
    grpc_unavailable: '2026-01-12T14:38:10.298Z',
    grpc_ok: '2025-12-25T11:18:51.881Z',
    istio_tcp: '2024-01-11T21:09:42.835Z',
    // The Envoy line's 2016 is older than the default reject_old_samples_max_age (as Loki's): it is pushed at a later time.
    envoy: '2023-11-14T22:13:20.000Z',
  };
  const pushedAt = (service: keyof typeof sent) => (BigInt(Date.parse(pushTime[service])) * 1_000_000n).toString();
  await push([
    ...Object.entries(sent).map(([service, line]) => ({
      stream: { service_name: service },
      values: [[pushedAt(service as keyof typeof sent), line]],
    })),
    // App Mesh and Consul sidecars write Envoy's default format: the container says which mesh configured the proxy.
    {
      stream: { service_name: 'appmesh', container_image: '840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy' },
      values: [[pushedAt('envoy'), sent.envoy]],
    },
    { stream: { service_name: 'consul', container: 'consul-dataplane' }, values: [[pushedAt('envoy'), sent.envoy]] },
  ]);

  const http = await only('{service_name="hubble_http"} | trace_id="667a64ad10eacf5d83a5d3016a069a86"', '2021-10-04T14:30:56.507Z');
  assert.equal(http.values[0][0], pushedAt('hubble_http'), 'the pushed timestamp, as Loki keeps it');
  assert.equal(http.stream.meshlog_line_time, '1633357856507275600', 'the flow time to the nanosecond');
  assert.equal(http.values[0][1], sent.hubble_http, 'the body is kept as sent');
  assert.equal(http.stream.detected_level, 'info');
  assert.equal(http.stream.meshlog_format, 'hubble_flow');
  assert.equal(http.stream.http_response_status_code, '200');
  assert.equal(http.stream.mesh_verdict, 'FORWARDED');
  assert.equal(http.stream.mesh_source_workload, 'ratings');
  assert.equal(http.stream.http_request_header_x_request_id, '2e62dbe4-3e39-4c22-a83d-b1fd6f4ab5cb');

  const drop = await only('{service_name="hubble_drop"} | mesh_verdict="DROPPED"', '2023-08-21T12:12:18.510Z');
  assert.equal(drop.stream.detected_level, 'warn');
  assert.equal(drop.stream.mesh_drop_reason, 'POLICY_DENIED');
  assert.equal(drop.stream.mesh_destination_namespace, 'default');

  const dns = await only('{service_name="hubble_dns"} | dns_response_code="NOERROR"', '2021-10-04T11:26:39.194Z');
  assert.equal(dns.stream.dns_question_name, 'reviews.bookinfo.svc.cluster.local.');
  assert.equal(dns.stream.dns_answers, '10.160.9.50');

  const failed = await only('{service_name="grpc_unavailable"} | rpc_grpc_status_code!="0"', '2026-01-12T14:38:10.298Z');
  assert.equal(failed.stream.detected_level, 'error', 'gRPC Unavailable over HTTP 200 is an error');
  assert.equal(failed.stream.rpc_grpc_status_code, '14');
  assert.equal(failed.stream.http_response_status_code, '200');
  const ok = await only('{service_name="grpc_ok"} | rpc_grpc_status_code="0"', '2025-12-25T11:18:51.881Z');
  assert.equal(ok.stream.detected_level, 'info');

  const tcp = await only('{service_name="istio_tcp"} | network_transport="tcp"', '2024-01-11T21:09:42.835Z');
  assert.equal(tcp.stream.detected_level, 'info');
  assert.equal(tcp.stream.http_response_status_code, undefined, 'no fake status for a TCP connection');
  assert.equal(tcp.stream.mesh_bytes_sent, '2504306');
  assert.equal(tcp.stream.mesh_duration_ms, '231');

  const appmesh = await only('{service_name="appmesh"} | meshlog_format="envoy"', pushTime.envoy);
  assert.equal(appmesh.values[0][0], pushedAt('envoy'));
  assert.equal(appmesh.stream.meshlog_line_time, '1460751420310000000', "the line's own time, from the brackets");
  assert.equal(appmesh.stream.container_image, '840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy');

  // The stored columns themselves, read from storage once the server has stopped (test/logqlMeshLabels.test.ts queries them as labels).
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<Row>(meshlog.dataDir, "SELECT * FROM meshlog.logs WHERE receiver = 'loki'");
  const row = (service: string) => {
    const found = rows.find((candidate) => candidate.service_name === service);
    assert.ok(found, `${service} stored`);
    return found;
  };
  const columns = (service: string) => {
    const { mesh, protocol, response_code, source_workload, destination_workload, severity_number } = row(service);
    return { mesh, protocol, response_code, source_workload, destination_workload, severity_number };
  };
  assert.deepEqual(columns('hubble_http'), {
    mesh: 'cilium',
    protocol: 'http/1.1',
    response_code: 200,
    source_workload: 'ratings',
    destination_workload: 'world',
    severity_number: 9,
  });
  assert.equal(row('hubble_http').trace_id, '667a64ad10eacf5d83a5d3016a069a86');
  assert.equal(row('hubble_http').request_id, '2e62dbe4-3e39-4c22-a83d-b1fd6f4ab5cb');
  assert.deepEqual(columns('hubble_drop'), {
    mesh: 'cilium',
    protocol: 'tcp',
    response_code: 0,
    source_workload: 'xwing',
    destination_workload: 'deathstar-7848d6c4d5-th9v2',
    severity_number: 13,
  });
  assert.deepEqual(columns('grpc_unavailable'), {
    mesh: 'istio',
    protocol: 'grpc',
    response_code: 200,
    source_workload: 'grpc_unavailable',
    destination_workload: 'mock-server.default',
    severity_number: 17,
  });
  assert.deepEqual(columns('istio_tcp'), {
    mesh: 'istio',
    protocol: 'tcp',
    response_code: 0,
    source_workload: 'istio_tcp',
    destination_workload: 'edition.cnn',
    severity_number: 9,
  });
  assert.equal(row('istio_tcp').bytes_sent, 2504306);
  assert.equal(row('appmesh').mesh, 'appmesh');
  assert.equal(row('consul').mesh, 'consul');
  assert.equal(row('envoy').mesh, 'envoy', 'the same line from a container that names no mesh stays plain Envoy');
});
