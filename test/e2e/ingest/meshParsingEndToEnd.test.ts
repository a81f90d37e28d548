import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

interface Row {
  body: string;
  service_name: string;
  severity_number: number;
  trace_id: string;
  span_id: string;
  log_attributes: Record<string, string>;
  mesh: string;
  platform: string;
  source_workload: string;
  destination_workload: string;
  protocol: string;
  response_code: number;
  duration_ms: number;
  bytes_sent: string;
  request_id: string;
  receiver: string;
  time_ns: string;
}

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
const lines = {
  istio:
    '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default',
  // The gateway logs with a custom format from the config file, trace id included.
  envoy: `[2025-01-02T03:04:05.678Z] "POST /checkout HTTP/2" 502 UF 120 0 31 ${traceId} "7d1c3b2a-0f9e-9d8c-b7a6-958473625140"`,
  linkerd:
    '10.42.0.63:51160 traffic.booksapp.serviceaccount.identity.linkerd.cluster.local - [2022-08-23T20:28:20.071809491Z] "GET http://webapp:7000/ HTTP/2.0" 200',
  secrets: `login for jane.doe@example.com card 4111 1111 1111 1111 ref 4111111111111112 token ${jwt}`,
};

let meshlog: RunningMeshlog;
before(async () => {
  const dataDir = tempDataDir();
  const configFile = join(dataDir, 'meshlog.yaml');
  writeFileSync(
    configFile,
    [
      'pipeline:',
      '  envoy_formats:',
      '    - name: gateway',
      `      format: '[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %TRACE_ID% "%REQ(X-REQUEST-ID)%"'`,
      '  redaction:',
      '    custom:',
      '      - name: order_ref',
      "        pattern: 'ord_[a-z0-9]{8}'",
      '',
    ].join('\n'),
  );
  meshlog = await startMeshlog({ dataDir, args: ['--config', configFile] });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

function otlpRecord(body: string, attributes: Record<string, string> = {}) {
  return {
    timeUnixNano: '1700000000000000000',
    body: { stringValue: body },
    attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: { stringValue: value } })),
  };
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${meshlog.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'X-Scope-OrgID': 'acme', 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test('access logs through OTLP/HTTP and an app log through Loki push land parsed, joined on the trace id, and redacted', async () => {
  const otlp = await post('/v1/logs', {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'k8s.pod.name', value: { stringValue: 'sleep-6d9f8-abcde' } },
            { key: 'k8s.deployment.name', value: { stringValue: 'sleep' } },
            { key: 'k8s.namespace.name', value: { stringValue: 'foo' } },
          ],
        },
        scopeLogs: [{ logRecords: [otlpRecord(lines.istio)] }],
      },
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gateway' } }] },
        scopeLogs: [
          {
            logRecords: [
              otlpRecord(lines.envoy),
              otlpRecord(lines.secrets, {
                'user.email': 'bob@example.org',
                'payment.card': '5555 5555 5555 4444',
                'http.request.header.authorization': `Bearer ${jwt}`,
                note: 'order ord_ab12cd34',
              }),
            ],
          },
        ],
      },
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'webapp' } }] },
        scopeLogs: [{ logRecords: [otlpRecord(lines.linkerd)] }],
      },
    ],
  });
  assert.equal(otlp.status, 200, await otlp.text());
  const appLine = JSON.stringify({ level: 'error', msg: 'payment declined', trace_id: traceId, span_id: '00f067aa0ba902b7' });
  const loki = await post('/loki/api/v1/push', {
    streams: [{ stream: { service_name: 'payments' }, values: [['1735787045700000000', appLine]] }],
  });
  assert.equal(loki.status, 204, await loki.text());

  const metrics = await (await fetch(`${meshlog.url}/metrics`, { headers: { Authorization: `Bearer ${meshlog.token}` } })).text();
  for (const [rule, count] of [
    ['email', 2],
    ['credit_card', 2],
    ['jwt', 2],
    ['order_ref', 1],
  ] as const) {
    assert.match(metrics, new RegExp(`^meshlog_redactions_total\\{rule="${rule}"\\} ${count}$`, 'm'), `redactions by ${rule} are a metric`);
  }
  // The line of plain text is the one record in no known format.
  assert.match(metrics, /^meshlog_records_unparsed_total\{receiver="otlp_http",reason="no_format"\} 1$/m);

  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<Row>(
    meshlog.dataDir,
    "SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS time_ns FROM meshlog.logs WHERE receiver IN ('otlp_http', 'loki') ORDER BY time_ns",
  );
  assert.equal(rows.length, 5);
  const byService = (name: string) => rows.find((row) => row.service_name === name && !row.body.includes('REDACTED'))!;

  const istio = byService('sleep');
  assert.equal(istio.mesh, 'istio');
  assert.equal(istio.platform, 'kubernetes');
  assert.equal(istio.source_workload, 'sleep');
  assert.equal(istio.destination_workload, 'httpbin.foo');
  assert.equal(istio.protocol, 'http/1.1');
  assert.equal(istio.response_code, 418);
  assert.equal(istio.duration_ms, 4);
  assert.equal(istio.request_id, '84961386-6d84-929d-98bd-c5aee93b5c88');
  assert.equal(istio.time_ns, '1606339578409000000');
  assert.equal(istio.log_attributes['mesh.upstream.cluster'], 'outbound|8000||httpbin.foo.svc.cluster.local');
  assert.equal(istio.severity_number, 13);

  const gateway = byService('gateway');
  assert.equal(gateway.log_attributes['meshlog.format'], 'gateway');
  assert.equal(gateway.mesh, 'envoy');
  assert.equal(gateway.response_code, 502);
  assert.equal(gateway.log_attributes['mesh.response_flags'], 'UF');
  assert.equal(gateway.severity_number, 17);

  const linkerd = byService('webapp');
  assert.equal(linkerd.mesh, 'linkerd');
  assert.equal(linkerd.source_workload, 'traffic.booksapp');
  assert.equal(linkerd.destination_workload, 'webapp');

  const app = byService('payments');
  assert.equal(app.receiver, 'loki');
  assert.equal(app.severity_number, 17);
  const joined = rows
    .filter((row) => row.trace_id === traceId)
    .map((row) => row.service_name)
    .sort();
  assert.deepEqual(joined, ['gateway', 'payments'], 'the gateway access log and the app log share the trace id');

  const redacted = rows.find((row) => row.body.includes('REDACTED'))!;
  assert.equal(redacted.body, 'login for [REDACTED:email] card [REDACTED:credit_card] ref 4111111111111112 token [REDACTED:jwt]');
  assert.equal(redacted.log_attributes['user.email'], '[REDACTED:email]');
  assert.equal(redacted.log_attributes.note, 'order [REDACTED:order_ref]');
  assert.equal(redacted.log_attributes['payment.card'], '[REDACTED:credit_card]');
  assert.equal(redacted.log_attributes['http.request.header.authorization'], 'Bearer [REDACTED:jwt]');
  assert.equal(redacted.log_attributes['meshlog.parse_status'], 'no_format', 'a line in no known format is kept as sent and flagged');
  assert.deepEqual(
    rows.filter((row) => row !== redacted).map((row) => row.log_attributes['meshlog.parse_status']),
    [undefined, undefined, undefined, undefined],
  );
  const everything = JSON.stringify(rows);
  for (const secret of ['jane.doe@example.com', 'bob@example.org', '4111 1111 1111 1111', '5555 5555 5555 4444', jwt, 'ord_ab12cd34']) {
    assert.ok(!everything.includes(secret), `${secret} never reaches storage`);
  }
  assert.match(meshlog.output(), /"msg":"meshlog is ready"/);
});
