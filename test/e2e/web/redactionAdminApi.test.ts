import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';

let meshlog: RunningMeshlog;
const admin = () => ({ Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' });

before(async () => {
  // Observe mode with a rule of our own: lines are stored as sent and masked when read.
  const configFile = join(tempDataDir('meshlog-redaction-config-'), 'meshlog.yaml');
  writeFileSync(
    configFile,
    ['pipeline:', '  redaction:', '    mode: observe', '    custom:', '      - name: order_id', "        pattern: 'ord-[0-9]{6}'", ''].join(
      '\n',
    ),
  );
  meshlog = await startMeshlog({ args: ['--config', configFile] });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('the redaction test API answers what ingest and a query really do with a line, in observe mode', async () => {
  const rules = (await (await fetch(`${meshlog.url}/api/v1/admin/redaction`, { headers: admin() })).json()) as {
    mode: string;
    rules: { name: string; kind: string }[];
  };
  assert.equal(rules.mode, 'observe');
  assert.deepEqual(rules.rules.at(-1), { name: 'order_id', kind: 'custom', pattern: 'ord-[0-9]{6}' });

  const line = 'ana@example.com bought ord-123456 for 12 EUR';
  const answer = await fetch(`${meshlog.url}/api/v1/admin/redaction/test`, {
    method: 'POST',
    headers: admin(),
    body: JSON.stringify({ line }),
  });
  assert.equal(answer.status, 200);
  const preview = (await answer.json()) as { stored: string; shown: string; matches: Record<string, number>; changed: boolean };
  assert.deepEqual(preview, {
    mode: 'observe',
    stored: line,
    shown: '[MASKED:email] bought [MASKED:order_id] for 12 EUR',
    matches: { email: 1, order_id: 1 },
    changed: true,
  });

  // The same line through ingest and a query by a reader without the unmasker role reads exactly as previewed.
  const pushed = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: admin(),
    body: JSON.stringify({ streams: [{ stream: { service_name: 'shop' }, values: [[`${Date.now()}000000`, line]] }] }),
  });
  assert.equal(pushed.status, 204);
  const query = await fetch(
    `${meshlog.url}/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name="shop"}', since: '1h' })}`,
    { headers: admin() },
  );
  const result = (await query.json()) as { data: { result: { values: [string, string][] }[] } };
  assert.equal(result.data.result[0]!.values[0]![1], preview.shown);

  const bad = await fetch(`${meshlog.url}/api/v1/admin/redaction/test`, {
    method: 'POST',
    headers: admin(),
    body: JSON.stringify({ text: line }),
  });
  assert.equal(bad.status, 400);
});
