import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import { goldenLines } from '../../support/goldenLines.js';

interface Row {
  body: string;
  service_name: string;
  severity_number: number;
  log_attributes: Record<string, string>;
  mesh: string;
  response_code: number;
  duration_ms: number;
  time_ns: string;
}

/** Golden lines from public sources (credited in the fixtures), looked up by a marker. */
const lineWith = goldenLines(['traefik.json', 'envoy.json', 'nginx.json']);

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog({ dataDir: tempDataDir() });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

test("Traefik JSON and CLF, Emissary and retried ingress-nginx lines pushed to Loki are stored with their status and severity, at the pushed timestamp (as Loki keeps it), the line's own time in meshlog.line_time", async () => {
  const pushed = '1700000000000000000';
  const sent = {
    traefik_json: lineWith('"DownstreamStatus":404,"Duration":10158'),
    traefik: lineWith('"testRouter with space"'),
    emissary: lineWith('ACCESS [2016-04-15T20:17:00.310Z]'),
    ingress_nginx: lineWith('[2a02:cf40::7]:5000, [2a02:cf40::4e36]:5000'),
  };
  const streams = Object.entries(sent).map(([service, line]) => ({
    stream: { service_name: service },
    values: [[pushed, line]],
  }));
  const push = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'X-Scope-OrgID': 'acme', 'Content-Type': 'application/json' },
    body: JSON.stringify({ streams }),
  });
  assert.equal(push.status, 204, await push.text());

  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<Row>(
    meshlog.dataDir,
    "SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS time_ns FROM meshlog.logs WHERE receiver = 'loki'",
  );
  const row = (service: string) => {
    const found = rows.find((candidate) => candidate.service_name === service);
    assert.ok(found, `${service} stored`);
    return found;
  };

  const traefikJson = row('traefik_json');
  assert.equal(traefikJson.body, sent.traefik_json, 'the body is kept as sent');
  assert.equal(traefikJson.mesh, 'traefik');
  assert.equal(traefikJson.response_code, 404);
  assert.equal(traefikJson.severity_number, 13);
  assert.equal(traefikJson.time_ns, pushed, 'the entry keeps its pushed timestamp');
  assert.equal(traefikJson.log_attributes['meshlog.line_time'], '1768383933759014877', 'StartUTC to the nanosecond');
  assert.equal(traefikJson.log_attributes['meshlog.format'], 'traefik_json');

  const traefik = row('traefik');
  assert.equal(traefik.response_code, 401);
  assert.equal(traefik.severity_number, 13);
  assert.equal(traefik.time_ns, pushed);
  assert.equal(traefik.log_attributes['meshlog.line_time'], '1520592692000000000');
  assert.equal(traefik.log_attributes['traefik.router.name'], 'testRouter with space');

  const emissary = row('emissary');
  assert.equal(emissary.mesh, 'envoy');
  assert.equal(emissary.response_code, 204);
  assert.equal(emissary.time_ns, pushed);
  assert.equal(emissary.log_attributes['meshlog.line_time'], '1460751420310000000', "the line's time from the brackets");
  assert.equal(emissary.duration_ms, 226);

  const nginx = row('ingress_nginx');
  assert.equal(nginx.mesh, 'nginx');
  assert.equal(nginx.response_code, 502);
  assert.equal(nginx.severity_number, 17);
  assert.equal(nginx.log_attributes['mesh.upstream.host'], '[2a02:cf40::7]:5000, [2a02:cf40::4e36]:5000');
  assert.equal(nginx.log_attributes['mesh.upstream.status_code'], '502, 502');
});
