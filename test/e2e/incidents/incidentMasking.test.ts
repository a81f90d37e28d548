import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

/** Pinned lines are evidence, not a way around read masking: an analyst without unmask sees them masked, in the incident and in its bundle. */
let meshlog: RunningMeshlog;
const keys: Record<string, string> = {};
const secret = 'hunter2-correct-horse';

async function call(path: string, token: string, init: { method?: string; body?: unknown } = {}): Promise<any> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

before(async () => {
  const dir = tempDataDir('meshlog-incident-masking-');
  writeFileSync(join(dir, 'meshlog.yaml'), 'masking:\n  fields: [password]\n');
  meshlog = await startMeshlog({ args: ['--config', join(dir, 'meshlog.yaml')] });
  for (const [name, roles] of [
    ['analyst', ['analyst']],
    ['unmasker', ['analyst', 'unmasker']],
  ] as const) {
    keys[name] = (await call('/api/v1/admin/keys', meshlog.token, { method: 'POST', body: { name, roles, tenants: ['default'] } })).key;
  }
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('login', [`login failed user=ana password=${secret}`]))).status,
    200,
  );
});

after(async () => {
  if (meshlog?.process.exitCode === null) await meshlog.stop();
});

test('a pinned line with a masked field is masked for an analyst without unmask, in the incident and in its bundle, and shown to an unmasker', async () => {
  const [[time, shown]] = await waitFor(
    async () =>
      (await call(`/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name="login"}', since: '1h' })}`, keys.analyst!)).data
        .result[0]?.values,
    { what: 'the login line' },
  );
  assert.ok(!shown.includes(secret), 'Explore shows it masked');
  // Explore names the line as it shows it: masked. The unmasker, who sees it as stored, pins it.
  const { incident } = await call('/api/v1/incidents', keys.unmasker!, { method: 'POST', body: { title: 'credential stuffing' } });
  await call(`/api/v1/incidents/${incident.id}/pins`, keys.unmasker!, {
    method: 'POST',
    body: { kind: 'line', timestamp_ns: time, line: `login failed user=ana password=${secret}` },
  });

  const asAnalyst = (await call(`/api/v1/incidents/${incident.id}`, keys.analyst!)).incident;
  assert.ok(!JSON.stringify(asAnalyst).includes(secret), JSON.stringify(asAnalyst.pins));
  assert.match(asAnalyst.pins[0].line, /password=\[MASKED\]/);
  const bundle = await call(`/api/v1/incidents/${incident.id}/export`, keys.analyst!);
  assert.ok(!JSON.stringify(bundle).includes(secret));
  assert.equal(bundle.records[0].stored_line, null);
  assert.match(bundle.records[0].withheld, /masked fields/);
  assert.ok(bundle.records[0].seal && bundle.records[0].inclusion, 'the seal and proof are still there');

  const asUnmasker = (await call(`/api/v1/incidents/${incident.id}`, keys.unmasker!)).incident;
  assert.equal(asUnmasker.pins[0].line, `login failed user=ana password=${secret}`);
  assert.match((await call(`/api/v1/incidents/${incident.id}/export`, keys.unmasker!)).records[0].stored_line, new RegExp(secret));
});
